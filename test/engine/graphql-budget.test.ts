/**
 * `graphql.timeoutMs` is the time budget of one GraphQL request: an upstream call still running
 * when it ends fails with UPSTREAM_TIMEOUT, however long its own upstream's `timeoutMs` is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    configure(c) {
      c.graphql = { timeoutMs: 400 };
      c.upstreams.users.timeoutMs = 5000;
    },
  });
});
afterAll(() => gw.close());

describe('graphql.timeoutMs', () => {
  it('ends an upstream call at the request budget, not at the upstream timeout', async () => {
    gw.demo.users.recorder.behaviour.delayMs = 3000;
    const started = Date.now();
    const r = await gw.gql('{ user(id: "1") { id name } }');
    const took = Date.now() - started;
    gw.demo.reset();
    expect(r.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(2000);
  });

  it('leaves a call inside the budget alone', async () => {
    gw.demo.users.recorder.behaviour.delayMs = 100;
    const r = await gw.gql('{ user(id: "1") { id name } }');
    gw.demo.reset();
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.user?.id).toBe('1');
  });
});
