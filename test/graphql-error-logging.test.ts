/**
 * GraphQL errors are logged once each, with the request id, at the level that says whose problem
 * it is (client: info, upstream: warn, internal: error), on both GraphQL paths; the access log
 * carries `errorCode` for every answer with errors, 400s from yoga's request parsing included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createGateway, type Gateway } from '../src/server.js';
import { Forbidden, RateLimited, Unauthenticated, UpstreamTimeout, UpstreamUnavailable } from '../src/errors.js';
import { configFrom, baseConfig } from './helpers/gateway.js';
import { ROOT } from './helpers/cli.js';
import { captureLogs } from './helpers/log-capture.js';

const { lines, logger } = captureLogs('info');
let gw: Gateway;

beforeAll(async () => {
  const schema = makeExecutableSchema({
    typeDefs: 'type Query { typeError: String, unauth: String, forbidden: String, limited: String, down: String, slow: String, fine: String }',
    resolvers: {
      Query: {
        typeError: () => (null as unknown as { x: string }).x,
        unauth: () => { throw Unauthenticated('sign in'); },
        forbidden: () => { throw Forbidden('no role'); },
        limited: () => { throw RateLimited(3); },
        down: () => { throw UpstreamUnavailable('users', 'connection refused'); },
        slow: () => { throw UpstreamTimeout('users', 100); },
        fine: () => 'ok',
      },
    },
  });
  const raw = baseConfig();
  raw.graphql = { persistedOperations: {} };
  gw = createGateway({ config: configFrom(raw), schema, projectRoot: ROOT, logger });
  await gw.listen(0, '127.0.0.1');
});
afterAll(() => gw.close());

async function post(id: string, body: string, accept = 'application/graphql-response+json'): Promise<number> {
  const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id, accept }, body });
  await res.text();
  return res.status;
}
async function get(id: string, query: string): Promise<number> {
  const res = await fetch(`${gw.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { 'x-request-id': id, accept: 'application/json' } });
  await res.text();
  return res.status;
}

/** Lines a request produced, the access line left out. */
const linesOf = (id: string) => lines.filter((l) => l.requestId === id && l.type !== 'access');
const accessOf = (id: string) => lines.find((l) => l.requestId === id && l.type === 'access');
const levelName = (n: number) => ({ 30: 'info', 40: 'warn', 50: 'error' })[n];

describe('field errors: one line each, with the request id, at the right level', () => {
  it.each([
    ['direct', (id: string, q: string) => post(id, JSON.stringify({ query: q }))],
    ['yoga', get],
  ])('%s path', async (name, send) => {
    const id = (f: string) => `${name}-${f}`;
    for (const f of ['typeError', 'unauth', 'forbidden', 'limited', 'down', 'slow']) await send(id(f), `{ ${f} fine }`);
    const expected: Record<string, [string, string]> = {
      typeError: ['error', 'INTERNAL_SERVER_ERROR'],
      unauth: ['info', 'UNAUTHENTICATED'],
      forbidden: ['info', 'FORBIDDEN'],
      limited: ['info', 'RATE_LIMITED'],
      down: ['warn', 'UPSTREAM_UNAVAILABLE'],
      slow: ['warn', 'UPSTREAM_TIMEOUT'],
    };
    for (const [f, [level, code]] of Object.entries(expected)) {
      const own = linesOf(id(f));
      expect(own, f).toHaveLength(1);
      expect(levelName(own[0]!.level), f).toBe(level);
      expect(own[0]!.code, f).toBe(code);
      expect(own[0]!.path, f).toEqual([f]);
      expect(accessOf(id(f))?.errorCode, f).toBe(code);
    }
    // The internal error's line carries the original error (stack included) for the operator.
    expect(linesOf(id('typeError'))[0]!.err.type).toBe('TypeError');
    expect(linesOf(id('typeError'))[0]!.err.stack).toContain('TypeError');
  });

  it('nothing is logged at error by "yoga", and no error line lacks a request id', () => {
    expect(lines.filter((l) => l.msg === 'yoga' && l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => l.level >= 40 && !l.requestId)).toEqual([]);
  });

  it('an answer without errors has no errorCode and no error line', async () => {
    expect(await post('clean', '{"query":"{ fine }"}')).toBe(200);
    expect(linesOf('clean')).toEqual([]);
    expect(accessOf('clean')).toBeDefined();
    expect(accessOf('clean')!.errorCode).toBeUndefined();
  });
});

describe('request errors carry errorCode in the access log', () => {
  it('PersistedQueryNotFound (400)', async () => {
    const hash = 'ab'.repeat(32);
    expect(await post('pq', JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }))).toBe(400);
    expect(accessOf('pq')).toMatchObject({ status: 400, errorCode: 'PERSISTED_QUERY_NOT_FOUND' });
    expect(levelName(linesOf('pq')[0]!.level)).toBe('info');
  });

  it('a batch when batching is off (400)', async () => {
    const status = await post('batch', '[{"query":"{ fine }"},{"query":"{ fine }"}]');
    if (status === 400) expect(accessOf('batch')?.errorCode).toEqual(expect.any(String));
    else expect(status).toBe(200); // batching turned on by default elsewhere: then no error to record
  });

  it('validation and parse errors, at info', async () => {
    await post('val', '{"query":"{ nope }"}');
    await post('parse', '{"query":"{ fine"}');
    expect(accessOf('val')?.errorCode).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(accessOf('parse')?.errorCode).toBe('GRAPHQL_PARSE_FAILED');
    expect(levelName(linesOf('val')[0]!.level)).toBe('info');
    expect(levelName(linesOf('parse')[0]!.level)).toBe('info');
  });

  it('yoga request errors without a code of their own (missing query) still get one', async () => {
    expect(await post('noquery', '{}')).toBe(400);
    expect(accessOf('noquery')?.errorCode).toBe('BAD_REQUEST');
  });
});
