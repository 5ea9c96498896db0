/**
 * TLS toward upstreams (`upstreams.<name>.tls`): an HTTPS upstream that demands a client
 * certificate, reached by passthrough and by its health checks; a gRPC upstream over TLS with a
 * client certificate. Each without the right material fails as UPSTREAM_UNAVAILABLE.
 */
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ServerCredentials } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcUpstream, type DemoGrpcServer } from '../src/demo/grpc-server.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestPki, type TestPki } from './helpers/tls.js';
import { captureLogs } from './helpers/log-capture.js';

const CATALOG_PROTO = fileURLToPath(new URL('./fixtures/domain/upstreams/catalog/catalog.proto', import.meta.url));

interface Seen {
  path: string;
  /** CN of the client certificate the gateway presented. */
  clientCn: string | undefined;
}

let pki: TestPki;
let demo: FixtureUpstreams;
let https: Server;
let httpsUrl: string;
const seen: Seen[] = [];
let grpc: DemoGrpcServer;

beforeAll(async () => {
  pki = createTestPki();
  demo = await startFixtureUpstreams();
  // Demands a client certificate from the CA: a gateway without one fails the handshake.
  https = createServer({ cert: pki.read('upstream.pem'), key: pki.read('upstream-key.pem'), ca: pki.read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN;
    seen.push({ path: req.url ?? '', clientCn: typeof cn === 'string' ? cn : undefined });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, proto: req.headers['x-forwarded-proto'] }));
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  grpc = await startGrpcUpstream({
    proto: CATALOG_PROTO,
    service: 'catalog.v1.Catalog',
    handlers: { GetProducts: (req: { ids: string[] }) => ({ products: req.ids.map((id) => ({ id, name: `product ${id}`, priceCents: 100, inStock: true })) }) },
    credentials: ServerCredentials.createSsl(pki.read('ca.pem'), [{ cert_chain: pki.read('upstream.pem'), private_key: pki.read('upstream-key.pem') }], true),
  });
});
afterAll(async () => {
  https.closeAllConnections();
  await new Promise((r) => https.close(r));
  await grpc.close();
  await demo.close();
  pki.remove();
});

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  seen.length = 0;
});

function clientTls(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ca: pki.path('ca.pem'), cert: pki.path('gateway-client.pem'), key: pki.path('gateway-client-key.pem'), ...extra };
}

async function withHttpsUpstream(tls: Record<string, unknown>, healthCheck?: Record<string, unknown>, logger?: ReturnType<typeof captureLogs>['logger']): Promise<TestGateway> {
  return startTestGateway({
    demo,
    logger,
    configure: (c) => {
      c.upstreams.secure = { targets: [{ url: httpsUrl }], timeoutMs: 2000, tls, ...(healthCheck ? { healthCheck } : {}) };
      c.routes = [{ name: 'secure', match: { pathPrefix: '/api' }, upstream: 'secure' }];
    },
  });
}

describe('HTTPS upstream', () => {
  it('passthrough presents the client certificate and verifies the upstream against the CA', async () => {
    gw = await withHttpsUpstream(clientTls());
    const res = await fetch(`${gw.url}/api/items?x=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ path: '/api/items?x=1', proto: 'http' });
    expect(seen.at(-1)).toEqual({ path: '/api/items?x=1', clientCn: 'gateway' });
  });

  it('servername: the certificate is checked against that name', async () => {
    gw = await withHttpsUpstream(clientTls({ servername: 'upstream.test' }));
    expect((await fetch(`${gw.url}/api/a`)).status).toBe(200);
    await gw.close();
    gw = await withHttpsUpstream(clientTls({ servername: 'wrong.test' }));
    const res = await fetch(`${gw.url}/api/a`);
    expect(res.status).toBe(503);
    expect((await res.json()).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('without a client certificate the upstream refuses the handshake: 503 UPSTREAM_UNAVAILABLE', async () => {
    gw = await withHttpsUpstream({ ca: pki.path('ca.pem') });
    const res = await fetch(`${gw.url}/api/b`);
    expect(res.status).toBe(503);
    expect((await res.json()).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(seen).toEqual([]);
  });

  it('without the CA the upstream is not trusted (503), unless rejectUnauthorized is false', async () => {
    gw = await withHttpsUpstream({ cert: pki.path('gateway-client.pem'), key: pki.path('gateway-client-key.pem') });
    expect((await fetch(`${gw.url}/api/c`)).status).toBe(503);
    await gw.close();
    gw = await withHttpsUpstream({ cert: pki.path('gateway-client.pem'), key: pki.path('gateway-client-key.pem'), rejectUnauthorized: false });
    expect((await fetch(`${gw.url}/api/c`)).status).toBe(200);
  });

  it('rejectUnauthorized: false is one warn line at start-up naming the upstream; verified upstreams are not mentioned', async () => {
    const logs = captureLogs('info');
    gw = await withHttpsUpstream({ ca: pki.path('ca.pem'), rejectUnauthorized: false }, undefined, logs.logger);
    const warned = logs.lines.filter((l) => l.level === 40 && /verification is off/.test(String(l.msg)));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ upstream: 'secure', key: 'upstreams.secure.tls.rejectUnauthorized' });
    await gw.close();
    const quiet = captureLogs('info');
    gw = await withHttpsUpstream(clientTls(), undefined, quiet.logger);
    expect(quiet.lines.filter((l) => /verification is off/.test(String(l.msg)))).toEqual([]);
  });

  it('health checks go over the same TLS, client certificate included', async () => {
    gw = await withHttpsUpstream(clientTls(), { path: '/health', intervalMs: 50, timeoutMs: 1000 });
    await expect.poll(() => seen.filter((s) => s.path === '/health').length, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    expect(seen.filter((s) => s.path === '/health').every((s) => s.clientCn === 'gateway')).toBe(true);
  });
});

describe('gRPC upstream over TLS', () => {
  async function withGrpc(tls: Record<string, unknown>, healthCheck?: Record<string, unknown>): Promise<TestGateway> {
    return startTestGateway({
      demo,
      configure: (c) => {
        c.upstreams.shop = { protocol: 'grpc', proto: CATALOG_PROTO, targets: [{ url: grpc.address }], timeoutMs: 2000, tls, ...(healthCheck ? { healthCheck } : {}) };
        c.routes = [{ name: 'products', match: { path: '/products' }, upstream: 'shop', grpc: { method: 'catalog.v1.Catalog/GetProducts', repeated: ['ids'] } }];
      },
    });
  }

  it('calls the service with the client certificate', async () => {
    gw = await withGrpc(clientTls({ servername: 'upstream.test' }));
    grpc.recorder.reset();
    const res = await fetch(`${gw.url}/products?ids=7,8`);
    expect(res.status).toBe(200);
    expect((await res.json()).products.map((p: { id: string }) => p.id)).toEqual(['7', '8']);
    expect(grpc.recorder.callsTo('GetProducts')).toHaveLength(1);
  });

  it('without a client certificate the call fails: 503, the service never runs', async () => {
    gw = await withGrpc({ ca: pki.path('ca.pem') });
    grpc.recorder.reset();
    const res = await fetch(`${gw.url}/products?ids=7`);
    expect(res.status).toBe(503);
    expect(grpc.recorder.callsTo('GetProducts')).toHaveLength(0);
  });

  it('health checks use TLS too', async () => {
    grpc.recorder.reset();
    gw = await withGrpc(clientTls(), { intervalMs: 50, timeoutMs: 1000 });
    await expect.poll(() => grpc.recorder.callsTo('Check').length, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
  });
});
