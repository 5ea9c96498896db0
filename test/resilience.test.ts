/**
 * Resilience against real upstream servers: circuit breaker, retries (idempotent only, within
 * the deadline and the budget), balancers, active health checks and outlier ejection.
 * Calls are counted at the upstreams.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startHttpUpstream, type DemoHttpServer } from '../src/demo/http-server.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { Closer } from './helpers/targets.js';

const open = new Closer();
afterEach(() => open.closeAll());
const targets = (n: number) => open.targets(n);

async function gatewayFor(servers: DemoHttpServer[], upstream: Record<string, unknown>, route: Record<string, unknown> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({
    configure(c) {
      c.upstreams.pool = { protocol: 'http', targets: servers.map((s) => ({ url: s.url })), timeoutMs: 1000, ...upstream };
      c.routes = [{ name: 'pool', match: { pathPrefix: '/pool' }, upstream: 'pool', rewrite: { stripPrefix: '/pool' }, ...route }];
    },
  });
  open.add(gw);
  return gw;
}

const served = (s: DemoHttpServer, path = '/echo/x') => s.recorder.calls.filter((c) => c.path === path).length;

describe('circuit breaker', () => {
  it('opens after failureThreshold failures, fails fast without reaching the upstream, closes after successThreshold', async () => {
    const [a] = await targets(1);
    const gw = await gatewayFor([a!], { circuitBreaker: { failureThreshold: 3, openMs: 300, successThreshold: 2 } });
    a!.recorder.behaviour.failStatus = 500;
    for (let i = 0; i < 3; i++) expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(500);
    const started = Date.now();
    const fast = await fetch(`${gw.url}/pool/echo/x`);
    expect(fast.status).toBe(503);
    expect(((await fast.json()) as any).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(500); // well under the upstream's timeoutMs (1000)
    expect(served(a!)).toBe(3);
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/gateway_circuit_state\{upstream="pool"\} 2/);

    a!.recorder.behaviour.failStatus = 0;
    await new Promise((r) => setTimeout(r, 350));
    expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(200); // half-open trial
    expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(200);
    expect(served(a!)).toBe(5);
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/gateway_circuit_state\{upstream="pool"\} 0/);
  });

  it('one failure while half-open opens it again', async () => {
    const [a] = await targets(1);
    const gw = await gatewayFor([a!], { circuitBreaker: { failureThreshold: 1, openMs: 200, successThreshold: 2 } });
    a!.recorder.behaviour.failStatus = 502;
    await fetch(`${gw.url}/pool/echo/x`);
    await new Promise((r) => setTimeout(r, 250));
    expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(502); // the trial fails
    expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(503); // open again
    expect(served(a!)).toBe(2);
  });

  it('4xx answers are not failures', async () => {
    const [a] = await targets(1);
    const gw = await gatewayFor([a!], { circuitBreaker: { failureThreshold: 2, openMs: 10_000, successThreshold: 1 } });
    a!.recorder.behaviour.failStatus = 404;
    for (let i = 0; i < 5; i++) expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(404);
    expect(served(a!)).toBe(5);
  });
});

describe('retries', () => {
  it('GET is retried exactly `attempts` times on 503; POST never', async () => {
    const [a] = await targets(1);
    const gw = await gatewayFor([a!], { retry: { attempts: 2, baseDelayMs: 5 } });
    a!.recorder.behaviour.failStatus = 503;
    expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(503);
    expect(served(a!)).toBe(3);
    a!.recorder.reset();
    a!.recorder.behaviour.failStatus = 503;
    expect((await fetch(`${gw.url}/pool/echo/x`, { method: 'POST', body: 'x' })).status).toBe(503);
    expect(served(a!)).toBe(1);
  });

  it('a retry that succeeds is invisible to the client', async () => {
    let calls = 0;
    const flaky = await startHttpUpstream((_req, res) => {
      calls++;
      res.writeHead(calls <= 2 ? 503 : 200);
      res.end(String(calls));
    });
    open.add(flaky);
    const gw = await gatewayFor([flaky], { retry: { attempts: 3, baseDelayMs: 5 } });
    const res = await fetch(`${gw.url}/pool/flaky`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('3');
  });

  it('a failed connection is retried on another target', async () => {
    const [a, b] = await targets(2);
    await a!.close();
    // Outlier detection takes the dead target out after its first failure, so the retry
    // budget (a floor of 3 per window here) is not what keeps later requests working.
    const gw = await gatewayFor([a!, b!], { retry: { attempts: 1, baseDelayMs: 1 }, outlierDetection: { consecutiveFailures: 1, ejectMs: 10_000 } });
    for (let i = 0; i < 6; i++) expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(200);
    expect(served(b!)).toBe(6);
  });

  it('never retries past the deadline', async () => {
    const [a] = await targets(1);
    const gw = await gatewayFor([a!], { retry: { attempts: 5, baseDelayMs: 5 } }, { timeoutMs: 200 });
    a!.recorder.behaviour.failStatus = 503;
    a!.recorder.behaviour.delayMs = 150;
    const started = Date.now();
    const res = await fetch(`${gw.url}/pool/echo/x`);
    expect(Date.now() - started).toBeLessThan(450);
    expect([503, 504]).toContain(res.status);
    expect(served(a!)).toBeLessThanOrEqual(2);
  });

  it('the retry budget caps retries during an outage', async () => {
    const [a] = await targets(1);
    const gw = await gatewayFor([a!], { retry: { attempts: 1, baseDelayMs: 1, budgetPercent: 0 } });
    a!.recorder.behaviour.failStatus = 503;
    for (let i = 0; i < 10; i++) await fetch(`${gw.url}/pool/echo/x`);
    // 10 calls + at most the budget's floor of 3 retries, not 20.
    expect(served(a!)).toBe(13);
  });
});

describe('balancers', () => {
  it('round-robin spreads evenly', async () => {
    const ts = await targets(3);
    const gw = await gatewayFor(ts, { balancer: 'round-robin' });
    for (let i = 0; i < 30; i++) await fetch(`${gw.url}/pool/echo/x`);
    expect(ts.map((t) => served(t))).toEqual([10, 10, 10]);
  });

  it('weighted follows the weights exactly (smooth weighted round-robin)', async () => {
    const ts = await targets(3);
    const gw = await startTestGateway({
      configure(c) {
        c.upstreams.pool = { protocol: 'http', balancer: 'weighted', targets: ts.map((s, i) => ({ url: s.url, weight: i + 1 })) };
        c.routes = [{ name: 'pool', match: { pathPrefix: '/pool' }, upstream: 'pool', rewrite: { stripPrefix: '/pool' } }];
      },
    });
    open.add(gw);
    for (let i = 0; i < 60; i++) await fetch(`${gw.url}/pool/echo/x`);
    expect(ts.map((t) => served(t))).toEqual([10, 20, 30]);
  });

  it('least-connections sends fewer requests to a slow target', async () => {
    const ts = await targets(2);
    ts[0]!.recorder.behaviour.delayMs = 150;
    const gw = await gatewayFor(ts, { balancer: 'least-connections' });
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${gw.url}/pool/echo/x`).then((r) => r.text())));
    expect(served(ts[1]!)).toBeGreaterThan(served(ts[0]!));
  });

  it('consistent-hash on a header keeps each key on one target', async () => {
    const ts = await targets(3);
    const gw = await gatewayFor(ts, { balancer: 'consistent-hash', hashOn: 'header:X-Tenant' });
    for (const tenant of ['acme', 'globex', 'initech']) {
      const before = ts.map((t) => served(t));
      for (let i = 0; i < 5; i++) await fetch(`${gw.url}/pool/echo/x`, { headers: { 'x-tenant': tenant } });
      const delta = ts.map((t, i) => served(t) - before[i]!);
      expect(delta.filter((d) => d > 0)).toEqual([5]);
    }
  });
});

describe('health checks and outlier detection', () => {
  it('an unhealthy target leaves rotation and comes back', async () => {
    const ts = await targets(2);
    const gw = await gatewayFor(ts, { healthCheck: { path: '/health', intervalMs: 40, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 } });
    ts[0]!.recorder.behaviour = { delayMs: 0, failStatus: 500, drop: false, failHealth: true };
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 0; i < 6; i++) expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(200);
    expect(served(ts[0]!)).toBe(0);
    ts[0]!.recorder.behaviour.failStatus = 0;
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 0; i < 6; i++) await fetch(`${gw.url}/pool/echo/x`);
    expect(served(ts[0]!)).toBeGreaterThan(0);
  });

  it('no healthy target (panic routing off): a fast 503', async () => {
    const ts = await targets(2);
    const gw = await gatewayFor(ts, { panicThresholdPercent: 0, healthCheck: { path: '/health', intervalMs: 40, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 } });
    for (const t of ts) t.recorder.behaviour = { delayMs: 0, failStatus: 503, drop: false, failHealth: true };
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    const res = await fetch(`${gw.url}/pool/echo/x`);
    expect(Date.now() - started).toBeLessThan(100);
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).error).toMatch(/no healthy target/);
  });

  it('a target failing consecutively is ejected for ejectMs', async () => {
    const ts = await targets(2);
    const gw = await gatewayFor(ts, { outlierDetection: { consecutiveFailures: 2, ejectMs: 10_000 } });
    ts[0]!.recorder.behaviour.failStatus = 500;
    for (let i = 0; i < 4; i++) await fetch(`${gw.url}/pool/echo/x`);
    const before = served(ts[0]!);
    for (let i = 0; i < 6; i++) expect((await fetch(`${gw.url}/pool/echo/x`)).status).toBe(200);
    expect(served(ts[0]!)).toBe(before);
  });
});
