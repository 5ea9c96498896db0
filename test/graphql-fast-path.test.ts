/**
 * The direct GraphQL path (src/graphql/fast-path.ts) must answer exactly as yoga's full path
 * does. Two gateways over the same demo upstreams, one with `graphql.fastPath: false`, get the
 * same requests; status, media type and body must match, and the access log of each must show which
 * path answered (`direct` on one, `yoga` on the other), so a case silently falling back to yoga
 * cannot pass as "direct" and the reference is proven to be yoga's.
 */
import { describe, expect, it } from 'vitest';
import type { TestGateway } from './helpers/gateway.js';
import { useGraphqlPaths } from './helpers/graphql-paths.js';
import { captureLogs } from './helpers/log-capture.js';

const { lines, logger } = captureLogs();

const graphqlConfig = { maxDepth: 6, maxAliases: 5, maxCost: 5000, exposeCost: true };
const paths = useGraphqlPaths(graphqlConfig, logger);

interface Answer { status: number; type: string | null; encoding: string | null; body: unknown; path: string | undefined }

async function ask(gw: TestGateway, body: string, headers: Record<string, string>): Promise<Answer> {
  const id = `fp-${Math.random().toString(36).slice(2)}`;
  const r = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id, ...headers }, body });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // compared as text
  }
  await new Promise((res) => setTimeout(res, 5));
  const line = lines.find((l) => l.type === 'access' && l.requestId === id);
  // `prepared` is the direct path too, for a document text it has seen (direct-execution.ts; test/graphql-prepared-execution.test.ts).
  const path = line?.graphql === 'prepared' ? 'direct' : line?.graphql;
  return { status: r.status, type: r.headers.get('content-type'), encoding: r.headers.get('content-encoding'), body: parsed, path };
}

async function both(body: unknown, headers: Record<string, string> = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const a = await ask(paths.direct, raw, headers);
  const b = await ask(paths.full, raw, headers);
  return { direct: a, full: b };
}

const GQL = 'application/graphql-response+json';

describe('answered directly, same as yoga', () => {
  const cases: Array<[string, unknown, Record<string, string>]> = [
    ['a query with data', { query: '{ user(id: "7") { id name } }' }, {}],
    ['variables and an operation name', { query: 'query A($id: ID!) { user(id: $id) { name } } query B { __typename }', variables: { id: '3' }, operationName: 'A' }, { accept: GQL }],
    ['a validation error (json → 200)', { query: '{ user(id: "7") { nope } }' }, { accept: 'application/json' }],
    ['a validation error (graphql-response+json → 400)', { query: '{ user(id: "7") { nope } }' }, { accept: GQL }],
    ['a syntax error', { query: '{ user(id: ' }, { accept: GQL }],
    ['a missing operation name among several', { query: 'query A { __typename } query B { __typename }' }, { accept: GQL }],
    ['a bad variable', { query: 'query($id: ID!) { user(id: $id) { name } }', variables: { id: { no: 1 } } }, { accept: GQL }],
    ['a depth rejection', { query: '{ user(id: "1") { orders { items { product { name } } } } } ' + '# padding' }, { accept: GQL }],
    ['an alias rejection', { query: '{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }' }, { accept: GQL }],
    ['a cost report in extensions', { query: '{ users(ids: ["1","2"]) { name } }' }, {}],
    ['extensions: {} and operationName: null', { query: '{ __typename }', operationName: null, variables: null, extensions: {} }, {}],
    ['Accept listing both media types', { query: '{ __typename }' }, { accept: `${GQL}, application/json` }],
  ];
  for (const [name, body, headers] of cases) {
    it(name, async () => {
      const { direct: a, full: b } = await both(body, headers);
      expect(a.path).toBe('direct');
      expect(b.path).toBe('yoga');
      expect({ status: a.status, type: a.type, body: a.body }).toEqual({ status: b.status, type: b.type, body: b.body });
    });
  }

  it('a repeated document text reuses its parse and validation result with the same answers', async () => {
    for (const body of [{ query: '{ user(id: "2") { name } }' }, { query: '{ user(id: "2") { nope } }' }, { query: '{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }' }]) {
      const first = await ask(paths.direct, JSON.stringify(body), { accept: GQL });
      const again = await ask(paths.direct, JSON.stringify(body), { accept: GQL });
      const reference = await ask(paths.full, JSON.stringify(body), { accept: GQL });
      expect(again.path).toBe('direct');
      expect(reference.path).toBe('yoga');
      expect({ status: again.status, body: again.body }).toEqual({ status: first.status, body: first.body });
      expect({ status: again.status, body: again.body }).toEqual({ status: reference.status, body: reference.body });
    }
  });

  it('a failing upstream gives the same partial data and code', async () => {
    paths.demo.users.recorder.behaviour.failStatus = 500;
    const { direct: a, full: b } = await both({ query: '{ user(id: "1") { name } product(id: "p1") { name } }' }, { accept: GQL });
    expect(a.path).toBe('direct');
    expect(b.path).toBe('yoga');
    expect(a.status).toBe(b.status);
    expect(a.body).toEqual(b.body);
    expect((a.body as any).errors[0].extensions.code).toBe('UPSTREAM_ERROR');
    expect((a.body as any).data.product.name).toBeTruthy();
  });

  it('compresses large answers like the full path', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => String(i + 1));
    const { direct: a, full: b } = await both({ query: `{ users(ids: ${JSON.stringify(ids)}) { id name email } }` }, { 'accept-encoding': 'gzip' });
    expect(a.path).toBe('direct');
    expect(b.path).toBe('yoga');
    expect(a.encoding).toBe('gzip');
    expect(b.encoding).toBe('gzip');
    expect(a.body).toEqual(b.body);
  });
});

describe('left to yoga', () => {
  const cases: Array<[string, string, Record<string, string>]> = [
    ['invalid JSON', '{"query": ', {}],
    ['a body that is not an object', '[{"query":"{ __typename }"}]', {}],
    ['an APQ extension', JSON.stringify({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'x' } } }), {}],
    ['an unknown parameter', JSON.stringify({ query: '{ __typename }', documentId: 'abc' }), {}],
    ['an Accept the table does not list', JSON.stringify({ query: '{ __typename }' }), { accept: 'text/event-stream' }],
  ];
  for (const [name, raw, headers] of cases) {
    it(name, async () => {
      const a = await ask(paths.direct, raw, headers);
      const b = await ask(paths.full, raw, headers);
      expect(a.path).toBe('yoga');
      expect(b.path).toBe('yoga');
      expect({ status: a.status, body: a.body }).toEqual({ status: b.status, body: b.body });
    });
  }

  it('batching: nothing one request loaded is served to another on the direct path', async () => {
    const answers = await Promise.all(['1', '2', '3', '4'].map((id) => ask(paths.direct, JSON.stringify({ query: `{ user(id: "${id}") { id } }` }), {})));
    expect(answers.map((a) => (a.body as any).data.user.id)).toEqual(['1', '2', '3', '4']);
    expect(answers.every((a) => a.path === 'direct')).toBe(true);
  });
});
