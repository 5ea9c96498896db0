/**
 * A 401 or 403 that ends a GraphQL request before execution speaks the media type the client
 * asked for (GraphQL-over-HTTP): application/graphql-response+json when it prefers that,
 * application/json otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    configure: (c) => {
      c.auth = {
        jwt: { algorithms: ['HS256'], secret: 'a-test-secret-that-is-32-bytes-long!' },
        apiKeys: { header: 'X-API-Key', keys: [{ key: 'known-key', owner: 'p' }] },
      };
    },
  });
});
afterAll(() => gw?.close());

async function post(headers: Record<string, string>): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"query":"{ __typename }"}' });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
}

const BAD_TOKEN = { authorization: 'Bearer not.a.token' };
const UNKNOWN_KEY = { 'x-api-key': 'nobody-knows-me' };

describe('401/403 on /graphql honour Accept', () => {
  it.each([
    ['401', BAD_TOKEN, 401, 'UNAUTHENTICATED'],
    ['403', UNKNOWN_KEY, 403, 'FORBIDDEN'],
  ])('%s: application/graphql-response+json when asked for', async (_n, cred, status, code) => {
    const r = await post({ ...cred, accept: 'application/graphql-response+json' });
    expect(r.status).toBe(status);
    expect(r.type).toBe('application/graphql-response+json; charset=utf-8');
    expect(r.body.errors[0].extensions.code).toBe(code);
  });

  it('the first acceptable type listed wins, as for results', async () => {
    expect((await post({ ...BAD_TOKEN, accept: 'application/graphql-response+json, application/json;q=0.9' })).type).toMatch(/^application\/graphql-response\+json/);
    expect((await post({ ...BAD_TOKEN, accept: 'application/json, application/graphql-response+json' })).type).toMatch(/^application\/json;/);
  });

  it('application/json without Accept, with */*, or when the client accepts neither', async () => {
    for (const accept of [undefined, '*/*', 'text/html']) {
      const r = await post(accept ? { ...BAD_TOKEN, accept } : BAD_TOKEN);
      expect(r.status).toBe(401);
      expect(r.type).toBe('application/json; charset=utf-8');
    }
  });
});
