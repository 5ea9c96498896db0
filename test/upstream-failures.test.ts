/**
 * Upstream failures surface as field errors with the CONTRACT's codes, with partial data for
 * the rest of the operation, and never as a hang.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    configure(c) {
      c.upstreams.users.timeoutMs = 300;
      c.upstreams.orders.timeoutMs = 300;
      c.upstreams.catalog.timeoutMs = 300;
    },
  });
});
afterAll(() => gw.close());
beforeEach(() => gw.demo.reset());

const QUERY = '{ user(id: "1") { id name } product(id: "p1") { id name } }';

function codeAt(body: any, field: string): string | undefined {
  return body.errors?.find((e: any) => e.path?.[0] === field)?.extensions?.code;
}

describe('HTTP upstream failures', () => {
  it('500 → UPSTREAM_ERROR on that field, other fields still resolve', async () => {
    gw.demo.users.recorder.behaviour.failStatus = 500;
    const r = await gw.gql(QUERY);
    expect(r.status).toBe(200);
    expect(r.body.data.user).toBeNull();
    expect(codeAt(r.body, 'user')).toBe('UPSTREAM_ERROR');
    expect(r.body.data.product.id).toBe('p1');
  });

  it('slower than timeoutMs → UPSTREAM_TIMEOUT within the budget', async () => {
    gw.demo.users.recorder.behaviour.delayMs = 2000;
    const started = Date.now();
    const r = await gw.gql(QUERY);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(codeAt(r.body, 'user')).toBe('UPSTREAM_TIMEOUT');
    expect(r.body.data.product.name).toBeTruthy();
  });

  it('connection dropped → UPSTREAM_UNAVAILABLE', async () => {
    gw.demo.users.recorder.behaviour.drop = true;
    const r = await gw.gql(QUERY);
    expect(codeAt(r.body, 'user')).toBe('UPSTREAM_UNAVAILABLE');
    expect(r.body.data.product.id).toBe('p1');
  });

  it('a nested failure is reported at its path; non-null propagation keeps siblings', async () => {
    gw.demo.orders.recorder.behaviour.failStatus = 503;
    const r = await gw.gql('{ user(id: "2") { id orders { id } } product(id: "p2") { id } }');
    // User.orders is [Order!]!, so the null bubbles up to `user`; `product` is untouched.
    expect(r.body.data.user).toBeNull();
    expect(r.body.data.product).toEqual({ id: 'p2' });
    const err = r.body.errors!.find((e) => e.path?.join('.') === 'user.orders')!;
    expect(err.extensions!.code).toBe('UPSTREAM_ERROR');
    expect(err.message).not.toMatch(/127\.0\.0\.1|ECONN|at .*\.ts/);
  });
});

describe('gRPC upstream failures', () => {
  it('UNAVAILABLE → UPSTREAM_UNAVAILABLE', async () => {
    gw.demo.catalog.recorder.behaviour.failStatus = 14;
    const r = await gw.gql(QUERY);
    expect(codeAt(r.body, 'product')).toBe('UPSTREAM_UNAVAILABLE');
    expect(r.body.data.user.id).toBe('1');
  });

  it('INTERNAL → UPSTREAM_ERROR', async () => {
    gw.demo.catalog.recorder.behaviour.failStatus = 13;
    const r = await gw.gql(QUERY);
    expect(codeAt(r.body, 'product')).toBe('UPSTREAM_ERROR');
  });

  it('slower than the deadline → UPSTREAM_TIMEOUT', async () => {
    gw.demo.catalog.recorder.behaviour.delayMs = 2000;
    const started = Date.now();
    const r = await gw.gql(QUERY);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(codeAt(r.body, 'product')).toBe('UPSTREAM_TIMEOUT');
  });
});

describe('an upstream that is not running', () => {
  it('connection refused → UPSTREAM_UNAVAILABLE fast', async () => {
    const { startGateway } = await import('../src/index.js');
    const { configFrom, baseConfig } = await import('./helpers/gateway.js');
    const { createLogger } = await import('../src/telemetry/logger.js');
    const { FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR } = await import('./fixtures/domain/index.js');
    const raw = baseConfig();
    const running = await startGateway({ config: configFrom(raw), schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) });
    try {
      const started = Date.now();
      const res = await fetch(`${running.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ user(id: "1") { id } }' }),
      });
      const body = (await res.json()) as any;
      expect(Date.now() - started).toBeLessThan(1000);
      expect(body.data.user).toBeNull();
      expect(body.errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await running.close();
    }
  });
});
