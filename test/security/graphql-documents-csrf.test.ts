/**
 * Issue #16, GraphQL CSRF: a request a cross-site page can send without a CORS preflight (a
 * form POST, multipart, text/plain, no content type, a GET) never runs a mutation; JSON POSTs
 * and GET queries (GraphQL over HTTP) keep working without extra headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWidgetsGateway, type WidgetsGateway } from './helpers/graphql-documents.js';

const MUTATION = 'mutation { spin(id: "7") { id } }';
const SPIN = 'POST /widgets/7/spin';

function multipart(): FormData {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: MUTATION }));
  form.set('map', '{}');
  return form;
}

describe('CSRF prevention on /graphql', () => {
  let gw: WidgetsGateway;
  beforeAll(async () => {
    gw = await startWidgetsGateway();
  });
  afterAll(() => gw?.close());

  const simple: Array<[string, () => RequestInit]> = [
    ['a form-urlencoded POST', () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: MUTATION }).toString() })],
    ['a form-urlencoded POST with a charset', () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body: new URLSearchParams({ query: MUTATION }).toString() })],
    ['an upper-case form content type', () => ({ method: 'POST', headers: { 'content-type': 'APPLICATION/X-WWW-FORM-URLENCODED' }, body: new URLSearchParams({ query: MUTATION }).toString() })],
    ['a multipart POST', () => ({ method: 'POST', body: multipart() })],
    ['a text/plain POST of JSON', () => ({ method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify({ query: MUTATION }) })],
    ['a POST without a content type', () => ({ method: 'POST', body: new TextEncoder().encode(JSON.stringify({ query: MUTATION })) })],
    ['a GET mutation', () => ({ method: 'GET' })],
    ['a GET mutation with the CSRF header', () => ({ method: 'GET', headers: { 'x-graphql-csrf-token': '1' } })],
  ];
  it.each(simple)('refuses %s without running the mutation', async (label, init) => {
    const before = gw.upstream.calls.length;
    const url = label.startsWith('a GET') ? `${gw.url}/graphql?query=${encodeURIComponent(MUTATION)}` : `${gw.url}/graphql`;
    const res = await fetch(url, init());
    await res.text();
    expect([403, 405]).toContain(res.status);
    expect(gw.upstream.calls.slice(before)).not.toContain(SPIN);
    expect(gw.upstream.calls.length).toBe(before);
  });

  it('names the refusal: 403 for a simple POST, 405 for a GET mutation', async () => {
    const form = await fetch(`${gw.url}/graphql`, simple[0]![1]());
    expect(form.status).toBe(403);
    expect(JSON.stringify(await form.json())).toContain('CSRF');
    const get = await fetch(`${gw.url}/graphql?query=${encodeURIComponent(MUTATION)}`);
    expect(get.status).toBe(405);
  });

  const allowed: Array<[string, RequestInit]> = [
    ['a JSON POST', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: MUTATION }) }],
    ['a JSON POST asking for graphql-response+json', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify({ query: MUTATION }) }],
    ['a form POST that carries x-graphql-csrf-token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-graphql-csrf-token': '1' }, body: new URLSearchParams({ query: MUTATION }).toString() }],
    ['a form POST that carries apollo-require-preflight', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'apollo-require-preflight': 'true' }, body: new URLSearchParams({ query: MUTATION }).toString() }],
  ];
  it.each(allowed)('runs the mutation for %s', async (_label, init) => {
    const before = gw.upstream.calls.length;
    const res = await fetch(`${gw.url}/graphql`, init);
    const body = (await res.json()) as { data?: { spin: { id: string } } };
    expect(res.status).toBe(200);
    expect(body.data?.spin.id).toBe('7');
    expect(gw.upstream.calls.slice(before)).toEqual([SPIN]);
  });

  it('keeps GraphQL-over-HTTP GET queries working without a header', async () => {
    const before = gw.upstream.calls.length;
    const res = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ widget(id: "3") { label } }')}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { widget: { label: string } } }).data.widget.label).toBe('widget 3');
    expect(gw.upstream.calls.slice(before)).toEqual(['GET /widgets/3']);
  });
});

describe('graphql.csrfPrevention', () => {
  it('accepts its own header list and nothing else', async () => {
    const gw = await startWidgetsGateway({ csrfPrevention: { requestHeaders: ['x-team-csrf'] } });
    try {
      const form = (headers: Record<string, string>) => fetch(`${gw.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ query: MUTATION }).toString(),
      });
      expect((await form({ 'x-graphql-csrf-token': '1' })).status).toBe(403);
      expect(gw.upstream.calls).toEqual([]);
      expect((await form({ 'x-team-csrf': '1' })).status).toBe(200);
      expect(gw.upstream.calls).toEqual([SPIN]);
    } finally {
      await gw.close();
    }
  });
});
