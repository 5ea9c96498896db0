/**
 * Faults stay with the target that has them: passive detection per target, retries that go
 * elsewhere, an upstream circuit that opens only when no target can serve, panic routing, and
 * the metrics an operator reads. Against real HTTP servers; calls are counted at the targets.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFixtureUpstreams, startHttpUpstream, type DemoHttpServer } from '../fixtures/domain/index.js';
import { baseConfig, configFrom, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { outlierSettings } from '../../src/plugins/use-resilience.js';
import { OutlierDetector } from '../../src/upstream/resilience/outlier.js';
import { captureLogs } from '../helpers/log-capture.js';
import { parseSamples } from '../helpers/prom-text.js';
import { Closer } from '../helpers/targets.js';

const open = new Closer();
afterEach(() => open.closeAll());
const targets = (n: number) => open.targets(n);

async function gatewayFor(urls: string[], upstream: Record<string, unknown>, logger?: ReturnType<typeof captureLogs>['logger']): Promise<TestGateway> {
  const gw = await startTestGateway({
    logger,
    configure(c) {
      c.upstreams.pool = { protocol: 'http', targets: urls.map((url) => ({ url })), timeoutMs: 1000, ...upstream };
      c.routes = [{ name: 'pool', match: { pathPrefix: '/pool' }, upstream: 'pool', rewrite: { stripPrefix: '/pool' } }];
    },
  });
  open.add(gw);
  return gw;
}

const served = (s: DemoHttpServer, path = '/echo/x') => s.recorder.calls.filter((c) => c.path === path).length;

async function statuses(gw: TestGateway, n: number, path = '/echo/x'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${gw.url}/pool${path}`);
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
}

async function metric(gw: TestGateway, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return parseSamples(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A URL nothing listens on (a server started and closed). */
async function deadUrl(): Promise<string> {
  const s = await startHttpUpstream(() => undefined);
  await s.close();
  return s.url;
}

describe('one dead target does not take down the healthy one', () => {
  it('the failing target is ejected alone; the upstream circuit stays closed and the healthy target serves everything', async () => {
    const [a, b] = await targets(2);
    const gw = await gatewayFor([a!.url, b!.url], { circuitBreaker: { failureThreshold: 3, openMs: 10_000, successThreshold: 1 } });
    b!.recorder.behaviour.failStatus = 500;
    const codes = await statuses(gw, 40);
    // B failed three times (its threshold), then left; A answered all the rest.
    expect(codes.filter((c) => c === 500)).toHaveLength(3);
    expect(codes.filter((c) => c === 503)).toHaveLength(0);
    expect(served(b!)).toBe(3);
    expect(served(a!)).toBe(37);
    expect(await metric(gw, 'gateway_circuit_state', { upstream: 'pool' })).toBe(0);
    expect(await metric(gw, 'gateway_upstream_target_state', { upstream: 'pool', target: b!.url })).toBe(2);
    expect(await metric(gw, 'gateway_upstream_target_state', { upstream: 'pool', target: a!.url })).toBe(0);
    expect(await metric(gw, 'gateway_upstream_target_ejections_total', { upstream: 'pool', target: b!.url })).toBe(1);
  });

  it('the circuit opens only when every target is ejected, and refused calls are counted apart from upstream calls', async () => {
    const [a, b] = await targets(2);
    const gw = await gatewayFor([a!.url, b!.url], { circuitBreaker: { failureThreshold: 2, openMs: 10_000, successThreshold: 1 } });
    a!.recorder.behaviour.failStatus = 500;
    b!.recorder.behaviour.failStatus = 500;
    const codes = await statuses(gw, 10);
    expect(codes.slice(0, 4)).toEqual([500, 500, 500, 500]);
    expect(codes.slice(4)).toEqual([503, 503, 503, 503, 503, 503]);
    expect(served(a!) + served(b!)).toBe(4);
    expect(await metric(gw, 'gateway_circuit_state', { upstream: 'pool' })).toBe(2);
    // The six refusals never reached an upstream: not in gateway_upstream_requests_total.
    expect(await metric(gw, 'gateway_upstream_requests_total', { upstream: 'pool' })).toBe(4);
    expect(await metric(gw, 'gateway_upstream_refused_total', { upstream: 'pool', reason: 'circuit_open' })).toBe(6);
  });

  it('with outlierDetection alone (no circuitBreaker) the last target that can serve is never ejected', async () => {
    const [a, b] = await targets(2);
    const gw = await gatewayFor([a!.url, b!.url], { outlierDetection: { consecutiveFailures: 1, ejectMs: 10_000 } });
    a!.recorder.behaviour.failStatus = 500;
    b!.recorder.behaviour.failStatus = 500;
    const codes = await statuses(gw, 8);
    // One of them is ejected; the other keeps answering (500s), never a refusal.
    expect(codes.every((c) => c === 500)).toBe(true);
    expect(await metric(gw, 'gateway_circuit_state', { upstream: 'pool' })).toBe(0);
    expect(await metric(gw, 'gateway_upstream_refused_total', { upstream: 'pool' })).toBe(0);
  });

  it('a dead target (connection refused) costs no client a failure when retries are on', async () => {
    const [a] = await targets(1);
    const dead = await deadUrl();
    const gw = await gatewayFor([a!.url, dead], { retry: { attempts: 1, baseDelayMs: 1, budgetPercent: 100 }, circuitBreaker: { failureThreshold: 5, openMs: 2000, successThreshold: 1 } });
    const codes = await statuses(gw, 60);
    expect(codes.every((c) => c === 200)).toBe(true);
    expect(served(a!)).toBe(60);
    expect(await metric(gw, 'gateway_circuit_state', { upstream: 'pool' })).toBe(0);
  });
});

describe('retries go to another target', () => {
  it('a retry after a 503 goes to the other target, even when the balancer would pick the same one again', async () => {
    const ts = await targets(2);
    // consistent-hash on a header sends every try of one key to one target: without memory of the
    // failed target, each retry would land on it again.
    const gw = await gatewayFor(ts.map((t) => t.url), { balancer: 'consistent-hash', hashOn: 'header:x-key', retry: { attempts: 3, baseDelayMs: 1, budgetPercent: 100 } });
    await (await fetch(`${gw.url}/pool/echo/x`, { headers: { 'x-key': 'k1' } })).arrayBuffer();
    const owner = ts.find((t) => served(t) === 1)!;
    const other = ts.find((t) => t !== owner)!;
    owner.recorder.behaviour.failStatus = 503;
    for (let i = 0; i < 10; i++) {
      const r = await fetch(`${gw.url}/pool/echo/x`, { headers: { 'x-key': 'k1' } });
      await r.arrayBuffer();
      expect(r.status).toBe(200);
    }
    // Each request: one try on its owner (503), one retry on the other target.
    expect(served(owner)).toBe(1 + 10);
    expect(served(other)).toBe(10);
  });

  it('with one target, the retry tries it again rather than failing at once', async () => {
    let failures = 1;
    const flaky = await startHttpUpstream((_req, res) => {
      res.writeHead(failures-- > 0 ? 503 : 200);
      res.end();
    });
    open.add(flaky);
    const gw = await gatewayFor([flaky.url], { retry: { attempts: 1, baseDelayMs: 1 } });
    expect(await statuses(gw, 1, '/plain')).toEqual([200]);
    expect(served(flaky, '/plain')).toBe(2);
  });
});

describe('ejection grows for repeat offenders, within a cap', () => {
  it('the second ejection lasts twice the first', async () => {
    const [a, b] = await targets(2);
    const logs = captureLogs('info');
    const gw = await gatewayFor([a!.url, b!.url], { outlierDetection: { consecutiveFailures: 1, ejectMs: 150, maxEjectMs: 10_000 } }, logs.logger);
    b!.recorder.behaviour.failStatus = 500;
    await statuses(gw, 4); // B fails once: ejected for 150 ms
    await new Promise((r) => setTimeout(r, 200));
    await statuses(gw, 4); // B back (probing), fails again: ejected for 300 ms
    const ejections = logs.lines.filter((l) => l.msg === 'upstream target ejected' && l.target === b!.url).map((l) => l.ejectMs);
    expect(ejections).toEqual([150, 300]);
  });

  it('at most maxEjectionPercent of the targets are out at once', async () => {
    const ts = await targets(4);
    const gw = await gatewayFor(ts.map((t) => t.url), { outlierDetection: { consecutiveFailures: 1, ejectMs: 10_000, maxEjectionPercent: 50 } });
    for (const t of ts.slice(0, 3)) t.recorder.behaviour.failStatus = 500;
    await statuses(gw, 20);
    let ejected = 0;
    for (const t of ts) if ((await metric(gw, 'gateway_upstream_target_state', { upstream: 'pool', target: t.url })) === 2) ejected++;
    expect(ejected).toBe(2);
    // The healthy target was never ejected.
    expect(await metric(gw, 'gateway_upstream_target_ejections_total', { upstream: 'pool', target: ts[3]!.url })).toBe(0);
  });

  it('a failure rate over the window ejects a target that never fails twice in a row', async () => {
    const [a] = await targets(1);
    let n = 0;
    const flaky = await startHttpUpstream((_req, res) => {
      res.writeHead(n++ % 2 === 0 ? 500 : 200);
      res.end();
    });
    open.add(flaky);
    const gw = await gatewayFor([a!.url, flaky.url], { balancer: 'round-robin', outlierDetection: { consecutiveFailures: 100, failureRatePercent: 40, minRequests: 6, ejectMs: 10_000 } });
    await statuses(gw, 40, '/plain');
    expect(await metric(gw, 'gateway_upstream_target_state', { upstream: 'pool', target: flaky.url })).toBe(2);
    // Failures alternate with successes, so five in a row never happen. The rate counts once a
    // window holds minRequests calls: the 7th call fails (4 of 7 ≥ 40 %), and the target is
    // never asked again.
    expect(served(flaky, '/plain')).toBe(7);
  });
});

/** A server whose /health answers 503 while everything else answers 200. */
async function failingHealth(): Promise<{ url: string; calls: string[]; close(): Promise<void> }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    calls.push(req.url ?? '');
    res.writeHead(req.url === '/health' ? 503 : 200);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const s = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => new Promise<void>((r) => server.close(() => r())) };
  server.closeIdleConnections();
  open.add({ close: async () => (server.closeAllConnections(), s.close()) });
  return s;
}

describe('panic threshold', () => {
  it('when too few targets pass their health checks, traffic goes to all of them (logged and counted)', async () => {
    const ts = [await failingHealth(), await failingHealth()];
    const logs = captureLogs('info');
    const gw = await gatewayFor(ts.map((t) => t.url), { panicThresholdPercent: 50, healthCheck: { path: '/health', intervalMs: 30, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 } }, logs.logger);
    await new Promise((r) => setTimeout(r, 150));
    expect(await metric(gw, 'gateway_upstream_target_healthy', { upstream: 'pool' })).toBe(0);
    const codes = await statuses(gw, 10);
    expect(codes.every((c) => c === 200)).toBe(true);
    expect(ts.every((t) => t.calls.includes('/echo/x'))).toBe(true);
    expect(await metric(gw, 'gateway_upstream_panic_routed_total', { upstream: 'pool' })).toBe(10);
    expect(logs.lines.some((l) => l.upstream === 'pool' && l.panic === true)).toBe(true);
  });

  it('panicThresholdPercent: 0 keeps refusing (fast 503) when no target passes its checks', async () => {
    const ts = [await failingHealth(), await failingHealth()];
    const gw = await gatewayFor(ts.map((t) => t.url), { panicThresholdPercent: 0, healthCheck: { path: '/health', intervalMs: 30, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 } });
    await new Promise((r) => setTimeout(r, 150));
    expect(await statuses(gw, 3)).toEqual([503, 503, 503]);
    expect(ts.some((t) => t.calls.includes('/echo/x'))).toBe(false);
  });
});

describe('what counts, and when', () => {
  it('an answer the gateway cannot read (200 text/html) counts against its target, which is ejected', async () => {
    const fixture = await startFixtureUpstreams();
    open.add(fixture);
    const html = open.add(
      await startHttpUpstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>maintenance</html>');
      }),
    );
    const { users, ...others } = fixture.targets;
    const gw = open.add(
      await startTestGateway({
        demo: { ...fixture, targets: others },
        configure(c) {
          c.upstreams.users.targets = [{ url: users! }, { url: html.url }];
          c.upstreams.users.circuitBreaker = { failureThreshold: 2, openMs: 10_000, successThreshold: 1 };
        },
      }),
    );
    const codes: unknown[] = [];
    for (let i = 0; i < 12; i++) codes.push((await gw.gql('{ user(id: "1") { id } }')).body.errors?.[0]?.extensions?.code ?? 'ok');
    // The HTML target answers twice (UPSTREAM_ERROR), then sits out; the healthy one serves the rest.
    expect(codes.filter((c) => c === 'UPSTREAM_ERROR')).toHaveLength(2);
    expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
    expect(await metric(gw, 'gateway_upstream_target_state', { upstream: 'users', target: html.url })).toBe(2);
  });

  it('outlierDetection keeps the circuitBreaker values it does not set', () => {
    const cfg = configFrom({ ...baseConfig(), upstreams: { pool: { targets: [{ url: 'http://127.0.0.1:1' }], circuitBreaker: { failureThreshold: 2, openMs: 1000 }, outlierDetection: { failureRatePercent: 50 } } } });
    const s = outlierSettings(cfg.upstreams.pool!)!;
    expect([s.consecutiveFailures, s.ejectMs, s.maxEjectMs, s.failureRatePercent]).toEqual([2, 1000, 10_000, 50]);
  });

  it('a call admitted before an ejection neither frees a trial slot nor counts as a trial afterwards', () => {
    const states: string[] = [];
    const d = new OutlierDetector('u', ['a', 'b'], { ...outlierSettings(configFrom({ ...baseConfig(), upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }], circuitBreaker: { failureThreshold: 1, openMs: 100, successThreshold: 1, halfOpenMaxCalls: 1 } } } }).upstreams.u!)! }, {
      onTargetState: (_u, t, st) => states.push(`${t}:${st}`),
      onCircuitState: () => undefined,
    });
    const stale = d.admit(0); // in flight while target a is in
    d.record(0, true, 0, d.admit(0)); // another call fails: a is ejected
    expect(d.canServe(0, 200)).toBe(true); // ejection over: probing, one trial slot
    const trial = d.admit(0);
    expect(d.canServe(0, 200)).toBe(false); // the slot is taken
    d.release(0, stale); // the old call ends neutral: must not free the trial's slot
    expect(d.canServe(0, 200)).toBe(false);
    d.record(0, false, 200, stale); // nor may its late success bring a back
    expect(d.state(0)).toBe('probing');
    d.record(0, false, 200, trial);
    expect(d.state(0)).toBe('in');
    expect(states).toEqual(['a:ejected', 'a:probing', 'a:in']);
  });
});

