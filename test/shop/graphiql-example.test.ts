/**
 * The shipped gateway.yaml opens GraphiQL on an example operation of the shop, and that example
 * is valid against the shipped schema and answers with data over the demo upstreams.
 */
import { join } from 'node:path';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSchema } from '../../src/graphql/compose.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ROOT } from '../helpers/cli.js';
import { startShopGateway, type ShopGateway } from './shop-gateway.js';

const shipped = loadConfigFile(join(ROOT, 'gateway.yaml')).config;
const graphiql = shipped.graphql.graphiql;
const example = typeof graphiql === 'object' ? graphiql.defaultQuery : undefined;

describe('GraphiQL example of the shipped shop', () => {
  let gw: ShopGateway;
  beforeAll(async () => {
    gw = await startShopGateway({ configure: (c) => (c.graphql = { graphiql: shipped.graphql.graphiql }) });
  });
  afterAll(() => gw?.close());

  it('gateway.yaml sets an example operation that validates against the shipped schema', async () => {
    expect(example).toBeTypeOf('string');
    const c = await composeSchema({ schemaDir: join(ROOT, 'schema'), resolversDir: join(ROOT, 'resolvers'), upstreams: Object.keys(shipped.upstreams), root: ROOT });
    expect(validate(c.schema, parse(example!))).toEqual([]);
  });

  it('the example answers with data and no error over the demo upstreams', async () => {
    const r = await gw.gql(example!);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.user.name).toBe('Ada Lovelace');
    expect(r.body.data.user.orders.length).toBeGreaterThan(0);
  });

  it('the GraphiQL page opens on it', async () => {
    const res = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(JSON.stringify(example).replace(/</g, '\\u003c'));
  });
});
