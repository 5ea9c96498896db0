/**
 * The example domain over real demo upstreams: CONTRACT section 3's queries, the batching
 * guarantee counted at the upstreams, and request isolation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startShopGateway, type ShopGateway } from './shop-gateway.js';

let gw: ShopGateway;
beforeAll(async () => {
  gw = await startShopGateway();
});
afterAll(() => gw.close());
beforeEach(() => gw.demo.reset());

describe('contract queries', () => {
  it('user(id) resolves fields from the users upstream', async () => {
    const r = await gw.gql('{ user(id: "3") { id name role } }');
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.user).toEqual({ id: '3', name: gw.demo.data.users.get('3')!.name, role: 'customer' });
  });

  it('user(id) is null for an unknown id', async () => {
    const r = await gw.gql('{ user(id: "nope") { id } }');
    expect(r.body.data.user).toBeNull();
    expect(r.body.errors).toBeUndefined();
  });

  it('users(ids) keeps the order of ids with null for unknown ids', async () => {
    const r = await gw.gql('{ users(ids: ["5", "404", "2"]) { id } }');
    expect(r.body.data.users).toEqual([{ id: '5' }, null, { id: '2' }]);
  });

  it('order(id) with user, items, products and total', async () => {
    const order = gw.demo.data.orders.get('o7')!;
    const r = await gw.gql('{ order(id: "o7") { id status createdAt total user { id } items { quantity product { id name price inStock } } } }');
    expect(r.body.errors).toBeUndefined();
    const o = r.body.data.order;
    expect(o.user.id).toBe(order.userId);
    expect(o.items.map((i: any) => i.product.id)).toEqual(order.items.map((i) => i.productId));
    const expected = order.items.reduce((sum, i) => sum + (gw.demo.data.products.get(i.productId)!.priceCents * i.quantity) / 100, 0);
    expect(o.total).toBeCloseTo(expected, 2);
    expect(o.createdAt).toBe(order.createdAt);
  });

  it('product(id) comes from gRPC with price = price_cents / 100', async () => {
    const p = gw.demo.data.products.get('p4')!;
    const r = await gw.gql('{ product(id: "p4") { id name price inStock } }');
    expect(r.body.data.product).toEqual({ id: 'p4', name: p.name, price: p.priceCents / 100, inStock: p.inStock });
    expect(await gw.gql('{ product(id: "p999") { id } }').then((x) => x.body.data.product)).toBeNull();
  });

  it('variables and operationName are honoured', async () => {
    const r = await gw.gql('query A($id: ID!) { user(id: $id) { id } } query B { __typename }', { id: '9' }).catch(() => null);
    expect(r?.status).toBe(400); // two operations and no operationName is a request error
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query A($id: ID!) { user(id: $id) { id } } query B { __typename }', variables: { id: '9' }, operationName: 'A' }),
    });
    expect(((await res.json()) as any).data.user.id).toBe('9');
  });
});

describe('batching guarantee', () => {
  const ids = Array.from({ length: 50 }, (_, i) => String(i + 1));

  it('users(50 ids) { orders { items { product } } } makes exactly three upstream calls, each id once', async () => {
    const r = await gw.gql(`{ users(ids: ${JSON.stringify(ids)}) { id orders { id items { quantity product { name } } } } }`);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.users).toHaveLength(50);
    const userCalls = gw.demo.users.recorder.callsTo('/users', 'GET');
    const orderCalls = gw.demo.orders.recorder.callsTo('/orders', 'GET');
    const productCalls = gw.demo.catalog.recorder.callsTo('GetProducts');
    expect(userCalls).toHaveLength(1);
    expect(orderCalls).toHaveLength(1);
    expect(productCalls).toHaveLength(1);
    expect(userCalls[0]!.query.get('ids')!.split(',').sort()).toEqual([...ids].sort());
    expect(orderCalls[0]!.query.get('userIds')!.split(',').sort()).toEqual([...ids].sort());
    const productIds = (productCalls[0]!.request as { ids: string[] }).ids;
    expect(new Set(productIds).size).toBe(productIds.length);
    const expected = new Set([...gw.demo.data.orders.values()].filter((o) => ids.includes(o.userId)).flatMap((o) => o.items.map((i) => i.productId)));
    expect(new Set(productIds)).toEqual(expected);
  });

  it('aliases and duplicate ids still make one call per endpoint with each id once', async () => {
    const r = await gw.gql(`{
      a: users(ids: ["1", "2", "2", "3"]) { id orders { id } }
      b: users(ids: ["3", "4", "1"]) { id orders { id } }
      c: user(id: "4") { id }
    }`);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.a.map((u: any) => u.id)).toEqual(['1', '2', '2', '3']);
    const userCalls = gw.demo.users.recorder.callsTo('/users', 'GET');
    expect(userCalls).toHaveLength(1);
    expect(userCalls[0]!.query.get('ids')!.split(',').sort()).toEqual(['1', '2', '3', '4']);
    const orderCalls = gw.demo.orders.recorder.callsTo('/orders', 'GET');
    expect(orderCalls).toHaveLength(1);
    expect(orderCalls[0]!.query.get('userIds')!.split(',').sort()).toEqual(['1', '2', '3', '4']);
  });
});

describe('request isolation', () => {
  it('nothing one request loaded is served to the next', async () => {
    await gw.gql('{ user(id: "7") { name } }');
    gw.demo.data.users.get('7')!.name = 'Renamed Seven';
    const r = await gw.gql('{ user(id: "7") { name } }');
    expect(r.body.data.user.name).toBe('Renamed Seven');
    expect(gw.demo.users.recorder.callsTo('/users', 'GET')).toHaveLength(2);
  });

  it('concurrent requests each see their own batch', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => gw.gql(`{ user(id: "${i + 20}") { id } }`)));
    results.forEach((r, i) => expect(r.body.data.user.id).toBe(String(i + 20)));
  });
});
