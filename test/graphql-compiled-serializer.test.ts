/**
 * The compiled response serializer on the direct path: once an operation has answered
 * SERIALIZER_AFTER times, its prepared requests are written by graphql-jit's serializer. The
 * bytes of every answer are those of yoga's full path (JSON.stringify), before and after the
 * switch. Fixture domain, not the shop.
 */
import { describe, expect, it } from 'vitest';
import { SERIALIZER_AFTER } from '../src/graphql/compiled-execution.js';
import type { TestGateway } from './helpers/gateway.js';
import { useGraphqlPaths } from './helpers/graphql-paths.js';
import { captureLogs } from './helpers/log-capture.js';

const { logger } = captureLogs();
const paths = useGraphqlPaths({}, logger);

async function raw(gw: TestGateway, body: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
}

const ids = Array.from({ length: 8 }, (_, i) => String(i + 1));

const cases: Array<[string, Record<string, unknown>]> = [
  ['users with orders, items and products (floats, nested lists)', { query: `{ users(ids: ${JSON.stringify([...ids, '999'])}) { id name orders { status total items { quantity product { name price inStock } } } } }` }],
  ['aliases, a named fragment and __typename', { query: 'query A($id: ID!) { first: user(id: $id) { ...U } second: user(id: "3") { __typename ...U } } fragment U on User { id name role }', variables: { id: '2' }, operationName: 'A' }],
  ['@include and @skip by variable, a field selected twice and merged', { query: 'query C($with: Boolean!) { user(id: "4") { id name @include(if: $with) role @skip(if: $with) id ... on User { name } } }', variables: { with: false } }],
  ['the same document with the other variable value', { query: 'query C($with: Boolean!) { user(id: "4") { id name @include(if: $with) role @skip(if: $with) id ... on User { name } } }', variables: { with: true } }],
  ['an unknown id (null where the schema allows it)', { query: '{ user(id: "999") { name } product(id: "nope") { name } }' }],
];

describe('answers written by the compiled serializer', () => {
  it.each(cases)('%s: the same bytes as the full path, before and after the switch', async (_name, body) => {
    const reference = await raw(paths.full, body);
    expect(reference.status).toBe(200);
    for (let i = 0; i < SERIALIZER_AFTER + 3; i++) expect(await raw(paths.direct, body)).toEqual(reference);
  });

  it('an answer with errors is still written whole (the serializer hands it to JSON.stringify)', async () => {
    const body = { query: '{ user(id: "1") { name } product(id: "p1") { name } }' };
    for (let i = 0; i < SERIALIZER_AFTER + 1; i++) await raw(paths.direct, body);
    paths.demo.users.recorder.behaviour.failStatus = 500;
    const direct = await raw(paths.direct, body);
    const reference = await raw(paths.full, body);
    // The two paths order `errors` and `data` differently (either is allowed); the content is the same.
    expect({ status: direct.status, body: JSON.parse(direct.text) }).toEqual({ status: reference.status, body: JSON.parse(reference.text) });
    expect(JSON.parse(direct.text).errors[0].extensions.code).toBe('UPSTREAM_ERROR');
    expect(JSON.parse(direct.text).data.product).toEqual({ name: 'Keyboard 1' });
  });
});
