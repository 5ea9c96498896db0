import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { serveGateway } from '../src/reload.js';
import { FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, startFixtureUpstreams } from './fixtures/domain/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { parseSamples, sampleValue, type Sample } from './helpers/prom-text.js';
import { createLogger } from '../src/telemetry/logger.js';
import { BoundedLabel, OVERFLOW_LABEL } from '../src/telemetry/metrics.js';

async function scrape(url: string): Promise<{ text: string; samples: Sample[]; type: string | null }> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parseSamples(text), type: res.headers.get('content-type') };
}

const FANOUT = '{ user(id: "1") { name orders { id items { quantity product { name } } } } }';

describe('/metrics after known traffic', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      configure(c) {
        c.rateLimit = { perClient: { points: 4, durationSec: 60 } };
        c.routes = [{ name: 'users-api', match: { pathPrefix: '/api/users' }, upstream: 'users', rewrite: { stripPrefix: '/api' } }];
      },
    });
    // 2 GraphQL operations fanning out to users, orders (HTTP) and catalog (gRPC).
    for (let i = 0; i < 2; i++) {
      const r = await gw.gql(`query Fanout ${FANOUT}`);
      expect(r.body.errors).toBeUndefined();
    }
    // One passthrough call answered 200, one 404 from the upstream.
    expect((await fetch(`${gw.url}/api/users/1`)).status).toBe(200);
    expect((await fetch(`${gw.url}/api/users/999999`)).status).toBe(404);
    // Past the per-client window (4 points: 2 GraphQL + 2 passthrough so far): refused.
    expect((await gw.gql('{ user(id: "1") { name } }')).status).toBe(429);
    // An unmatched, client-chosen path.
    expect((await fetch(`${gw.url}/secret-probe/12345`)).status).toBe(404);
  });
  afterAll(() => gw?.close());

  it('counts requests by method, route name and status, never by raw path', async () => {
    const { text, samples, type } = await scrape(gw.url);
    expect(type).toContain('text/plain');
    expect(sampleValue(samples, 'gateway_requests_total', { method: 'POST', route: 'graphql', status_code: '200' })).toBe(2);
    expect(sampleValue(samples, 'gateway_requests_total', { method: 'POST', route: 'graphql', status_code: '429' })).toBe(1);
    expect(sampleValue(samples, 'gateway_requests_total', { method: 'GET', route: 'users-api', status_code: '200' })).toBe(1);
    expect(sampleValue(samples, 'gateway_requests_total', { method: 'GET', route: 'users-api', status_code: '404' })).toBe(1);
    expect(sampleValue(samples, 'gateway_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toContain('secret-probe');
  });

  it('fills the duration histogram buckets per method and route', async () => {
    const { samples } = await scrape(gw.url);
    const labels = { method: 'POST', route: 'graphql' };
    expect(sampleValue(samples, 'gateway_request_duration_seconds_count', labels)).toBe(3);
    expect(sampleValue(samples, 'gateway_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(3);
    expect(sampleValue(samples, 'gateway_request_duration_seconds_bucket', { ...labels, le: '10' })).toBe(3);
    expect(sampleValue(samples, 'gateway_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });

  it('counts rate-limit refusals by client and route', async () => {
    const { samples } = await scrape(gw.url);
    expect(sampleValue(samples, 'gateway_rate_limit_exceeded_total', { client_id: '127.0.0.1', route: 'graphql' })).toBe(1);
  });

  it('counts upstream calls by upstream and outcome, gRPC included', async () => {
    const { samples } = await scrape(gw.url);
    expect(sampleValue(samples, 'gateway_upstream_requests_total', { upstream: 'users', status: '200' })).toBe(3);
    expect(sampleValue(samples, 'gateway_upstream_requests_total', { upstream: 'users', status: '404' })).toBe(1);
    expect(sampleValue(samples, 'gateway_upstream_requests_total', { upstream: 'orders', status: '200' })).toBe(2);
    expect(sampleValue(samples, 'gateway_upstream_requests_total', { upstream: 'catalog', status: 'OK' })).toBe(2);
    expect(sampleValue(samples, 'gateway_upstream_request_duration_seconds_count', { upstream: 'catalog' })).toBe(2);
  });

  it('counts GraphQL operations by name, and reports the in-flight gauge and process metrics', async () => {
    const { samples } = await scrape(gw.url);
    expect(sampleValue(samples, 'gateway_graphql_operations_total', { operation_name: 'Fanout', operation_type: 'query', error_code: 'none' })).toBe(2);
    // The scrape itself is the one request in flight.
    expect(sampleValue(samples, 'gateway_active_connections')).toBe(1);
    expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('starts every configured upstream circuit at closed and follows breaker state events', async () => {
    let { samples } = await scrape(gw.url);
    for (const upstream of ['users', 'orders', 'catalog']) expect(sampleValue(samples, 'gateway_circuit_state', { upstream })).toBe(0);
    gw.gateway.events.onBreakerState('orders', 'open');
    ({ samples } = await scrape(gw.url));
    expect(sampleValue(samples, 'gateway_circuit_state', { upstream: 'orders' })).toBe(2);
    gw.gateway.events.onBreakerState('orders', 'half-open');
    ({ samples } = await scrape(gw.url));
    expect(sampleValue(samples, 'gateway_circuit_state', { upstream: 'orders' })).toBe(1);
    expect(sampleValue(samples, 'gateway_circuit_state_changes_total', { upstream: 'orders', state: 'open' })).toBe(1);
    gw.gateway.events.onBreakerState('orders', 'closed');
  });
});

describe('upstream failures in the metrics', () => {
  it('labels a 5xx with its status and a dropped connection with the gateway error code', async () => {
    const gw = await startTestGateway();
    try {
      gw.demo.users.recorder.behaviour.failStatus = 500;
      await gw.gql('{ user(id: "1") { name } }');
      gw.demo.users.recorder.behaviour = { delayMs: 0, failStatus: 0, drop: true, failHealth: false };
      await gw.gql('{ user(id: "2") { name } }');
      const { samples } = await scrape(gw.url);
      expect(sampleValue(samples, 'gateway_upstream_requests_total', { upstream: 'users', status: '500' })).toBeGreaterThanOrEqual(1);
      expect(sampleValue(samples, 'gateway_upstream_requests_total', { upstream: 'users', status: 'UPSTREAM_UNAVAILABLE' })).toBeGreaterThanOrEqual(1);
      expect(sampleValue(samples, 'gateway_graphql_errors_total', { code: 'UPSTREAM_ERROR' })).toBeGreaterThanOrEqual(1);
    } finally {
      await gw.close();
    }
  });
});

describe('one registry per gateway', () => {
  it('keeps two gateways in one process apart', async () => {
    const a = await startTestGateway();
    const b = await startTestGateway({ demo: a.demo });
    try {
      await a.gql('{ user(id: "1") { name } }');
      await a.gql('{ user(id: "1") { name } }');
      const sa = (await scrape(a.url)).samples;
      const sb = (await scrape(b.url)).samples;
      expect(sampleValue(sa, 'gateway_requests_total', { route: 'graphql' })).toBe(2);
      expect(sampleValue(sb, 'gateway_requests_total', { route: 'graphql' })).toBeUndefined();
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('server.metricsPort', () => {
  it('serves /metrics on its own port and not on the main one', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const gw = await startTestGateway({
      configure(c) { c.server.metricsPort = 0; c.logging.level = 'info'; },
      logger: createLogger({ level: 'info', destination: sink }),
    });
    try {
      await gw.gql('{ user(id: "1") { name } }');
      const main = await fetch(`${gw.url}/metrics`);
      expect(main.status).toBe(404);
      expect((await main.json()).code).toBe('NOT_FOUND');
      let port: number | undefined;
      for (let i = 0; i < 50 && port === undefined; i++) {
        const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'metrics listening');
        port = line?.port;
        if (port === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      expect(port).toBeGreaterThan(0);
      const { samples } = await scrape(`http://127.0.0.1:${port}`);
      expect(sampleValue(samples, 'gateway_requests_total', { method: 'POST', route: 'graphql', status_code: '200' })).toBe(1);
    } finally {
      await gw.close();
    }
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('server.metricsPort across a hot reload', () => {
  it('keeps serving /metrics on the same port once the new generation takes over', async () => {
    const demo = await startFixtureUpstreams();
    const metricsPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gw-metrics-'));
    const file = join(dir, 'gateway.yaml');
    const config = (routes: unknown[]) => stringify({
      server: { port: 0, host: '127.0.0.1', drainMs: 2000, metricsPort },
      logging: { level: 'silent' },
      upstreams: {
        users: { protocol: 'http', targets: [{ url: demo.users.url }] },
        orders: { protocol: 'http', targets: [{ url: demo.orders.url }] },
        catalog: { protocol: 'grpc', targets: [{ url: demo.catalog.address }] },
      },
      routes,
    });
    writeFileSync(file, config([]));
    const served = await serveGateway({ configFile: file, schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR, logger: createLogger({ level: 'silent' }) });
    try {
      await waitForScrape(metricsPort);
      writeFileSync(file, config([{ name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'users' }]));
      expect((await served.reload()).ok).toBe(true);
      expect((await fetch(`${served.url}/echo/x`)).status).toBe(200);
      // The new generation binds once the old one has let go of the port.
      const samples = await waitForScrape(metricsPort, (s) => sampleValue(s, 'gateway_requests_total', { route: 'echo' }) === 1);
      expect(sampleValue(samples, 'gateway_requests_total', { method: 'GET', route: 'echo', status_code: '200' })).toBe(1);
    } finally {
      await served.close();
      await demo.close();
    }
  });
});

async function waitForScrape(port: number, until: (s: Sample[]) => boolean = () => true): Promise<Sample[]> {
  let last: Sample[] = [];
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } });
      if (res.status === 200) {
        last = parseSamples(await res.text());
        if (until(last)) return last;
      }
    } catch {
      // Not bound yet (between generations): try again.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

describe('bounded client_id label', () => {
  it('folds client ids past the cap into "other"', () => {
    const label = new BoundedLabel(2);
    expect([label.value('a'), label.value('b'), label.value('c'), label.value('a')]).toEqual(['a', 'b', OVERFLOW_LABEL, 'a']);
  });
});
