/**
 * Prepared execution (src/graphql/direct-execution.ts): on the direct path, a document text seen
 * before runs its context and execution hooks without envelop. Each request below is sent three
 * times to a gateway with the direct path (the first goes through envelop, the next two are
 * prepared) and once to one without it (yoga's full path): status and body are the same every
 * time, and what the hooks record (the operation name in the access log, the cost in extensions,
 * a refusal by demand control) is there on every run. Fixture domain, not the shop.
 */
import { describe, expect, it } from 'vitest';
import type { TestGateway } from './helpers/gateway.js';
import { useGraphqlPaths } from './helpers/graphql-paths.js';
import { captureLogs } from './helpers/log-capture.js';

const { lines, logger } = captureLogs();
const graphqlConfig = { maxDepth: 6, maxAliases: 5, maxCost: 5000, exposeCost: true };
const paths = useGraphqlPaths(graphqlConfig, logger);

interface Answer { status: number; body: unknown; path: unknown; operationName: unknown }

async function ask(gw: TestGateway, body: unknown): Promise<Answer> {
  const id = `pe-${Math.random().toString(36).slice(2)}`;
  const r = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'x-request-id': id }, body: JSON.stringify(body) });
  const parsed: unknown = await r.json();
  await new Promise((res) => setTimeout(res, 5));
  const line = lines.find((l) => l.type === 'access' && l.requestId === id);
  return { status: r.status, body: parsed, path: line?.graphql, operationName: line?.operationName };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

const cases: Array<[string, Record<string, unknown>]> = [
  ['a plain query', { query: '{ user(id: "2") { id name } }' }],
  ['variables', { query: 'query U($id: ID!) { user(id: $id) { name } }', variables: { id: '3' } }],
  ['an operation chosen by name', { query: 'query A { user(id: "1") { name } } query B { product(id: "p1") { name } }', operationName: 'B' }],
  ['a validation error', { query: '{ user(id: "2") { nope } }' }],
  ['a variable of the wrong type', { query: 'query V($id: ID!) { user(id: $id) { name } }', variables: { id: { no: 1 } } }],
  ['refused by demand control when executed (cost over maxCost)', { query: `{ users(ids: ${JSON.stringify(ids(50))}) { orders { items { product { name } } } } }` }],
  ['the cost, from variables', { query: 'query Q($ids: [ID!]!) { users(ids: $ids) { id } }', variables: { ids: ids(3) } }],
  ['an unknown id (null data)', { query: '{ user(id: "999") { name } }' }],
];

describe('a document seen before answers as envelop and yoga do', () => {
  it.each(cases)('%s', async (_name, body) => {
    const runs = [await ask(paths.direct, body), await ask(paths.direct, body), await ask(paths.direct, body)];
    const reference = await ask(paths.full, body);
    expect(reference.path).toBe('yoga');
    expect(runs.map((r) => r.path)).toEqual(['direct', 'prepared', 'prepared']);
    for (const r of runs) {
      expect({ status: r.status, body: r.body }).toEqual({ status: reference.status, body: reference.body });
      expect(r.operationName).toBe(reference.operationName);
    }
  });

  it('the hooks run on every prepared request: the operation name is logged and the cost reported each time', async () => {
    const body = { query: 'query Named { user(id: "4") { name } }' };
    for (let i = 0; i < 3; i++) {
      const r = await ask(paths.direct, body);
      expect(r.operationName).toBe('Named');
      expect((r.body as { extensions?: { cost?: { estimated?: number } } }).extensions?.cost?.estimated).toBeGreaterThan(0);
    }
  });

  it('a failing upstream gives the same partial data and code on a prepared request', async () => {
    const body = { query: '{ user(id: "1") { name } product(id: "p1") { name } }' };
    await ask(paths.direct, body);
    paths.demo.users.recorder.behaviour.failStatus = 500;
    const again = await ask(paths.direct, body);
    const reference = await ask(paths.full, body);
    expect(again.path).toBe('prepared');
    expect(again.body).toEqual(reference.body);
    expect((again.body as any).errors[0].extensions.code).toBe('UPSTREAM_ERROR');
  });

  it('the start-up line says prepared execution is on', () => {
    const line = lines.find((l) => l.msg === 'graphql path' && l.graphqlPath === 'direct');
    expect(line?.preparedExecution).toBe(true);
  });
});
