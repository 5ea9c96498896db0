import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createLogger } from '../src/telemetry/logger.js';
import { tracingRequested } from '../src/telemetry/tracing.js';

/** A span as the OTLP/HTTP JSON export carries it (ids hex-encoded). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}
const SERVER = 2;
const CLIENT = 3;

/** A real OTLP/HTTP receiver on port 0: collects every span exported to /v1/traces. */
async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; services: Set<string>; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) {
          for (const a of rs.resource?.attributes ?? []) if (a.key === 'service.name') services.add(a.value.stringValue);
          for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    services,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const FANOUT = 'query Fanout { user(id: "1") { name orders { id items { quantity product { name } } } } }';
const OTEL_KEYS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_SERVICE_NAME', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_TRACES_EXPORTER', 'OTEL_SDK_DISABLED'];

describe('OpenTelemetry traces exported to a real OTLP/HTTP endpoint', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let gw: TestGateway;
  const saved: Record<string, string | undefined> = {};
  const logLines: Array<Record<string, any>> = [];
  let usersHeaders: Record<string, unknown>;
  let passthroughHeaders: Record<string, unknown>;
  let catalogMetadata: Record<string, unknown>;

  beforeAll(async () => {
    collector = await startCollector();
    for (const k of OTEL_KEYS) saved[k] = process.env[k];
    Object.assign(process.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'gateway-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    delete process.env.OTEL_TRACES_EXPORTER;
    delete process.env.OTEL_SDK_DISABLED;
    const sink = new Writable({ write(chunk, _e, cb) { logLines.push(JSON.parse(String(chunk))); cb(); } });
    gw = await startTestGateway({
      configure(c) {
        c.logging.level = 'info';
        c.routes = [{ name: 'users-api', match: { pathPrefix: '/api/users' }, upstream: 'users', rewrite: { stripPrefix: '/api' } }];
      },
      logger: createLogger({ level: 'info', destination: sink }),
    });
    const r = await gw.gql(FANOUT, undefined, { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` });
    expect(r.body.errors).toBeUndefined();
    usersHeaders = gw.demo.users.recorder.calls.find((c) => c.path.startsWith('/users'))!.headers;
    catalogMetadata = gw.demo.catalog.recorder.calls[0]!.headers;
    gw.demo.users.recorder.calls.length = 0;
    expect((await fetch(`${gw.url}/api/users/2`)).status).toBe(200);
    passthroughHeaders = gw.demo.users.recorder.calls[0]!.headers;
    // Closing the gateway flushes the exporter.
    await gw.close();
  });
  afterAll(async () => {
    for (const k of OTEL_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await collector?.close();
  });

  const graphqlTrace = () => collector.spans.filter((s) => s.traceId === CLIENT_TRACE);
  const byName = (name: string) => graphqlTrace().find((s) => s.name === name);

  it('continues the client trace with a server span and GraphQL phase spans under it', () => {
    const server = byName('POST graphql')!;
    expect(server).toBeDefined();
    expect(server.kind).toBe(SERVER);
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    for (const phase of ['graphql.parse', 'graphql.validate', 'graphql.execute']) expect(byName(phase)?.parentSpanId).toBe(server.spanId);
    expect(collector.services).toContain('gateway-under-test');
  });

  it('has one client span per upstream call (HTTP and gRPC) under graphql.execute', () => {
    const execute = byName('graphql.execute')!;
    const clients = graphqlTrace().filter((s) => s.kind === CLIENT);
    expect(clients.map((s) => s.name).sort()).toEqual(['GET orders', 'GET users', 'catalog/GetProducts']);
    for (const c of clients) expect(c.parentSpanId).toBe(execute.spanId);
  });

  it('sends the client span context upstream: traceparent header (HTTP) and gRPC metadata', () => {
    const usersSpan = byName('GET users')!;
    expect(usersHeaders.traceparent).toBe(`00-${CLIENT_TRACE}-${usersSpan.spanId}-01`);
    const grpcSpan = byName('catalog/GetProducts')!;
    expect(catalogMetadata.traceparent).toBe(`00-${CLIENT_TRACE}-${grpcSpan.spanId}-01`);
  });

  it('traces passthrough requests too, and the upstream sees the client span of the proxied call', () => {
    const server = collector.spans.find((s) => s.name === 'GET users-api')!;
    expect(server.kind).toBe(SERVER);
    const client = collector.spans.find((s) => s.parentSpanId === server.spanId && s.kind === CLIENT)!;
    expect(passthroughHeaders.traceparent).toBe(`00-${server.traceId}-${client.spanId}-01`);
  });

  it('writes the trace id into the access log line', () => {
    const access = logLines.filter((l) => l.type === 'access');
    expect(access.find((l) => l.path === '/graphql')?.traceId).toBe(CLIENT_TRACE);
    const pass = access.find((l) => l.path === '/api/users/2')!;
    expect(pass.traceId).toBe(collector.spans.find((s) => s.name === 'GET users-api')!.traceId);
  });
});

describe('tracing switch', () => {
  it('is on only when the OTEL_* environment asks for an exporter', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(false);
  });

  it('leaves requests untraced when off: no trace id logged, no traceparent on GraphQL upstream calls', async () => {
    const lines: Array<Record<string, any>> = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
    const gw = await startTestGateway({ configure(c) { c.logging.level = 'info'; }, logger: createLogger({ level: 'info', destination: sink }) });
    try {
      await gw.gql('{ user(id: "1") { name } }');
      expect(gw.demo.users.recorder.calls[0]!.headers.traceparent).toBeUndefined();
      await new Promise((r) => setTimeout(r, 20));
      const access = lines.find((l) => l.type === 'access')!;
      expect(access.requestId).toBeTruthy();
      expect(access.traceId).toBeUndefined();
    } finally {
      await gw.close();
    }
  });
});
