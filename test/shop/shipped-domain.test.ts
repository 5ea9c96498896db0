/**
 * The shop as it ships: its gateway.yaml passes `config check`, its schema composes with every
 * CONTRACT §3 type, `schema print` prints it by default, and `gateway start --demo` (what
 * `npm start` runs) serves it over its own demo upstreams.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeSchema } from '../../src/graphql/compose.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ROOT, runCli, startCliGateway } from '../helpers/cli.js';

describe('the shipped shop', () => {
  it('gateway.yaml is valid', async () => {
    const r = await runCli(['config', 'check', '--config', 'gateway.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the schema composes with every CONTRACT type', async () => {
    const c = await composeSchema({ schemaDir: join(ROOT, 'schema'), resolversDir: join(ROOT, 'resolvers'), upstreams: Object.keys(loadConfigFile(join(ROOT, 'gateway.yaml')).config.upstreams), root: ROOT });
    for (const name of ['Query', 'Mutation', 'User', 'Order', 'OrderItem', 'Product', 'CreateOrderInput', 'OrderItemInput']) {
      expect(c.schema.getType(name), name).toBeDefined();
    }
    expect(Object.keys(c.schema.getQueryType()!.getFields())).toEqual(expect.arrayContaining(['me', 'user', 'users', 'order', 'product']));
  });

  it('`schema print` prints the shop SDL by default', async () => {
    const r = await runCli(['schema', 'print']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/type Product \{[^}]*price: Float!/);
    expect(r.stdout).toMatch(/type Order \{[^}]*createdAt: String!/);
    expect(r.stdout).toMatch(/createOrder\(input: CreateOrderInput!\): Order!/);
  });

  it('`gateway start --demo` with the shipped config serves the shop over its demo upstreams', async () => {
    const gw = await startCliGateway(['--config', 'gateway.yaml', '--port', '0', '--demo'], { timeoutMs: 30_000 });
    try {
      const res = await fetch(`${gw.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ user(id: "1") { name orders { id items { product { name } } } } order(id: "o1") { createdAt } }' }),
      });
      const body = (await res.json()) as any;
      expect(body.errors).toBeUndefined();
      expect(body.data.user.name).toBe('Ada Lovelace');
      expect(body.data.user.orders).toHaveLength(2);
      expect(typeof body.data.order.createdAt).toBe('string');
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });
});
