/**
 * Demand control: operations over maxDepth, maxAliases or maxCost get HTTP 400 with their code
 * and reach no upstream (counted at the demo upstreams); fragments and fragment cycles neither
 * bypass the checks nor crash them; the cost model and exposeCost.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSchema, getIntrospectionQuery, getOperationAST, parse } from 'graphql';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { ConfigError } from '../src/config/load.js';
import { buildCostTable, estimateOperationCost } from '../src/limits/operation-cost.js';
import { measureOperationShape } from '../src/limits/operation-shape.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    configure: (c) => (c.graphql = { maxDepth: 3, maxAliases: 2 }),
  });
});
afterAll(() => gw.close());
beforeEach(() => gw.demo.reset());

function upstreamCalls(): number {
  return gw.demo.users.recorder.calls.length + gw.demo.orders.recorder.calls.length + gw.demo.catalog.recorder.calls.length;
}

async function expectRejected(query: string, code: string, variables?: Record<string, unknown>) {
  const r = await gw.gql(query, variables);
  expect(r.status).toBe(400);
  expect(r.body.data).toBeUndefined();
  expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual([code]);
  expect(upstreamCalls()).toBe(0);
  return r;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

describe('maxDepth', () => {
  it('rejects a deeper operation with 400 OPERATION_TOO_DEEP and no upstream call', async () => {
    const r = await expectRejected('{ user(id: "1") { orders { items { quantity } } } }', 'OPERATION_TOO_DEEP');
    expect(r.body.errors![0]!.message).toMatch(/depth 4 exceeds the limit of 3/);
    expect(r.body.errors![0]!.extensions).not.toHaveProperty('http');
  });

  it('admits an operation at the limit', async () => {
    const r = await gw.gql('{ user(id: "1") { orders { status } } }');
    expect(r.status).toBe(200);
    expect(r.body.data.user.orders).toHaveLength(2);
  });

  it('counts depth through named and inline fragments', async () => {
    await expectRejected(
      'query { user(id: "1") { ...U } } fragment U on User { orders { ...O } } fragment O on Order { items { quantity } }',
      'OPERATION_TOO_DEEP',
    );
    await expectRejected('{ user(id: "1") { ... on User { orders { ... { items { quantity } } } } } }', 'OPERATION_TOO_DEEP');
  });

  it('a fragment cycle neither crashes nor passes: 400 and no upstream call', async () => {
    const r = await gw.gql('{ user(id: "1") { ...A } } fragment A on User { orders { user { ...A } } }');
    expect(r.status).toBe(400);
    expect(r.body.data).toBeUndefined();
    expect(r.body.errors?.[0]?.message).toMatch(/Cannot spread fragment "A" within itself/);
    expect(upstreamCalls()).toBe(0);
    // A cycle below a deep prefix is still measured to its depth.
    await expectRejected(
      '{ user(id: "1") { orders { user { ...A } } } } fragment A on User { orders { user { ...A } } }',
      'OPERATION_TOO_DEEP',
    );
  });

  it('is 400 for application/json clients and GET requests too', async () => {
    const query = '{ user(id: "1") { orders { items { quantity } } } }';
    const post = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(post.status).toBe(400);
    expect((await post.json()).errors[0].extensions.code).toBe('OPERATION_TOO_DEEP');
    const get = await fetch(`${gw.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: 'application/graphql-response+json' } });
    expect(get.status).toBe(400);
    expect((await get.json()).errors[0].extensions.code).toBe('OPERATION_TOO_DEEP');
    expect(upstreamCalls()).toBe(0);
  });
});

describe('maxAliases', () => {
  it('rejects more aliases than allowed', async () => {
    await expectRejected('{ a: user(id: "1") { name } b: user(id: "2") { name } c: user(id: "3") { name } }', 'TOO_MANY_ALIASES');
  });

  it('counts an aliased fragment once per spread, and rejects a fragment bomb fast', async () => {
    await expectRejected('{ user(id: "1") { ...N } u2: user(id: "2") { ...N } } fragment N on User { n: name }', 'TOO_MANY_ALIASES');
    const defs = ['fragment F0 on User { n: name }'];
    for (let i = 1; i <= 40; i++) defs.push(`fragment F${i} on User { ...F${i - 1} ...F${i - 1} }`);
    const t0 = performance.now();
    await expectRejected(`{ user(id: "1") { ...F40 } } ${defs.join(' ')}`, 'TOO_MANY_ALIASES');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('admits two aliases', async () => {
    const r = await gw.gql('{ a: user(id: "1") { name } b: user(id: "2") { name } }');
    expect(r.status).toBe(200);
    expect(r.body.data.b.name).toBe(gw.demo.data.users.get('2')!.name);
  });
});

describe('maxCost', () => {
  let depthGw: TestGateway;
  beforeAll(async () => {
    depthGw = gw;
    gw = await startTestGateway({
      demo: depthGw.demo,
      configure: (c) => (c.graphql = { maxCost: 5000, exposeCost: true, fieldCosts: { 'Query.product': 7 } }),
    });
  });
  afterAll(async () => {
    await gw.close();
    gw = depthGw;
  });

  it('rejects a list multiplied by its ids argument (literal or variable) before any upstream call', async () => {
    // users: 50 × (1 + orders 10 × (1 + items 10 × (1 + product 1))) = 50 × 211 = 10550
    const r = await expectRejected(`{ users(ids: ${JSON.stringify(ids(50))}) { orders { items { product { name } } } } }`, 'OPERATION_TOO_COSTLY');
    expect(r.body.errors![0]!.extensions).toMatchObject({ cost: 10550, maxCost: 5000 });
    await expectRejected('query Q($ids: [ID!]!) { users(ids: $ids) { orders { items { product { name } } } } }', 'OPERATION_TOO_COSTLY', { ids: ids(50) });
  });

  it('admits the same shape with few ids and reports its cost in extensions.cost', async () => {
    const r = await gw.gql('query Q($ids: [ID!]!) { users(ids: $ids) { orders { items { product { name } } } } }', { ids: ['1', '2'] });
    expect(r.status).toBe(200);
    expect(r.body.data.users).toHaveLength(2);
    expect((r.body as any).extensions.cost).toEqual({ estimated: 422, max: 5000 });
  });

  it('weighs fields by graphql.fieldCosts and lists without size arguments by 10', async () => {
    const r = await gw.gql('{ user(id: "1") { name orders { status } } product(id: "p1") { name } }');
    expect(r.status).toBe(200);
    // user 1 × (1 + orders 10 × 1) = 11; product weighs 7 (fieldCosts)
    expect((r.body as any).extensions.cost).toEqual({ estimated: 18, max: 5000 });
  });
});

describe('configuration', () => {
  it('lets GraphiQL introspection through a maxDepth of 12', async () => {
    const g = await startTestGateway({ configure: (c) => (c.graphql = { maxDepth: 12, maxAliases: 30 }) });
    try {
      const r = await g.gql(getIntrospectionQuery());
      expect(r.status).toBe(200);
      expect(r.body.data.__schema.queryType.name).toBe('Query');
    } finally {
      await g.close();
    }
  });

  it('rejects a fieldCosts key that is not a schema field, by key path', async () => {
    let err: unknown;
    try {
      const g = await startTestGateway({ configure: (c) => (c.graphql = { maxCost: 10, fieldCosts: { 'Query.nope': 3 } }) });
      await g.close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.path)).toEqual(['graphql.fieldCosts.Query.nope']);
  });
});

describe('cost model', () => {
  const schema = buildSchema(`
    directive @cost(weight: Int!) on FIELD_DEFINITION
    type Query {
      feed(first: Int, after: String): [Post!]!
      search(limit: Int = 25): [Post!]! @cost(weight: 3)
      tags: [String!]!
      node(id: ID!): Node
    }
    interface Node { id: ID! }
    type Post implements Node { id: ID! title: String! author: Author! @cost(weight: 5) }
    type Author implements Node { id: ID! name: String! }
  `);
  const cost = (query: string, variables?: Record<string, unknown>, fieldCosts: Record<string, number> = {}) => {
    const doc = parse(query);
    return estimateOperationCost(schema, buildCostTable(schema, fieldCosts), doc, getOperationAST(doc)!, variables);
  };

  it('multiplies lists by first / limit (given, from variables, or the argument default)', () => {
    expect(cost('{ feed(first: 3) { title } }')).toBe(3);
    expect(cost('query($n: Int) { feed(first: $n) { author { name } } }', { n: 4 })).toBe(4 * (1 + 5));
    expect(cost('{ search { id } }')).toBe(25 * 3);
    expect(cost('{ feed { id } }')).toBe(10);
    // Scalars weigh nothing by default, even in lists.
    expect(cost('{ tags }')).toBe(0);
  });

  it('honours @cost and lets graphql.fieldCosts override it', () => {
    expect(cost('{ feed(first: 1) { author { id } } }')).toBe(1 + 5);
    expect(cost('{ feed(first: 1) { author { id } } }', undefined, { 'Post.author': 0, 'Author.name': 2 })).toBe(1);
    expect(cost('{ feed(first: 2) { author { name } } }', undefined, { 'Author.name': 2 })).toBe(2 * (1 + 5 + 2));
  });

  it('adds inline fragments on abstract types and ignores introspection', () => {
    expect(cost('{ node(id: "1") { __typename ... on Post { author { id } } ... on Author { name } } }')).toBe(1 + 5);
    expect(cost('{ __schema { types { name fields { name } } } }')).toBe(0);
  });

  it('measures depth and aliases per operation, the largest one counting', () => {
    const doc = parse('query A { feed { id } } query B { x: feed { y: author { name } } } fragment F on Post { z: id }');
    expect(measureOperationShape(doc)).toMatchObject({ depth: 3, aliases: 2 });
  });
});
