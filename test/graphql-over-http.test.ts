/**
 * GraphQL over HTTP (the spec's MUSTs via graphql-http's server audit), GraphiQL, the
 * request-id rule, health endpoints, and masking of internal errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverAudits } from 'graphql-http';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());

describe('GraphQL over HTTP audit', () => {
  it('passes every MUST of the graphql-http server audit', async () => {
    const audits = serverAudits({ url: `${gw.url}/graphql`, fetchFn: fetch });
    const failures: string[] = [];
    let musts = 0;
    for (const audit of audits) {
      const result = await audit.fn();
      if (audit.name.startsWith('MUST')) {
        musts++;
        if (result.status !== 'ok') failures.push(`${audit.name}: ${result.reason}`);
      }
    }
    expect(musts).toBeGreaterThan(10);
    expect(failures).toEqual([]);
  });

  it('serves GET queries and refuses mutations over GET', async () => {
    const ok = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ user(id: "1") { id } }')}`, { headers: { accept: 'application/graphql-response+json' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('application/graphql-response+json');
    expect(((await ok.json()) as any).data.user.id).toBe('1');
    const mutation = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('mutation { createUser(input: {name: "x", email: "y"}) { id } }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(mutation.status).toBe(405);
  });

  it('answers application/json when the client asks for it', async () => {
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('serves GraphiQL to a browser', async () => {
    const res = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toMatch(/graphiql/i);
  });
});

describe('request ids', () => {
  it('echoes a valid client id and sends it upstream', async () => {
    gw.demo.reset();
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'client-id-123' },
      body: JSON.stringify({ query: '{ user(id: "2") { id } }' }),
    });
    expect(res.headers.get('x-request-id')).toBe('client-id-123');
    expect(gw.demo.users.recorder.calls[0]!.headers['x-request-id']).toBe('client-id-123');
  });

  it('replaces an invalid or overlong client id with a new one', async () => {
    for (const bad of ['x'.repeat(129), 'has space', '']) {
      const res = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': bad } });
      const id = res.headers.get('x-request-id')!;
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[\x21-\x7e]{1,128}$/);
    }
  });

  it('puts a request id on 404 error bodies', async () => {
    const res = await fetch(`${gw.url}/nowhere`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { code: string; requestId: string; error: string };
    expect(body.code).toBe('NOT_FOUND');
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
  });
});

describe('health', () => {
  it('/healthz and /readyz answer 200 while running', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  });
});
