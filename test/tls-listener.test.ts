/**
 * TLS termination on the listener (`server.tls`): HTTPS with certificates made at runtime,
 * the minimum version, session resumption, a reload that swaps the certificate for new
 * connections while an open one keeps working, and config problems by key path.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders as H2Headers } from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { serveGateway, type ServedGateway } from '../src/reload.js';
import { ConfigError } from '../src/config/load.js';
import { createTlsServer, swapListenerCertificate } from '../src/http/tls-listener.js';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../src/telemetry/logger.js';
import { FIXTURE_CLI_ARGS, FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { baseConfig, configFrom, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestPki, type TestPki } from './helpers/tls.js';
import { runCli, startCliGateway } from './helpers/cli.js';

let pki: TestPki;
let demo: FixtureUpstreams;
beforeAll(async () => {
  pki = createTestPki();
  demo = await startFixtureUpstreams();
});
afterAll(async () => {
  await demo.close();
  pki.remove();
});

let gw: TestGateway | undefined;
let served: ServedGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await served?.close();
  gw = undefined;
  served = undefined;
});

interface Answer {
  status: number;
  body: string;
  /** CN of the certificate the server presented. */
  cn: string;
  socket: TLSSocket;
}

function get(url: string, opts: { agent?: Agent; ca?: Buffer; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent: opts.agent, ca: opts.ca ?? pki.read('ca.pem'), headers: opts.headers }, (res: IncomingMessage) => {
      const socket = res.socket as TLSSocket;
      const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cn, socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

function tlsConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cert: pki.path('server.pem'), key: pki.path('server-key.pem'), ...extra };
}

describe('TLS listener', () => {
  it('serves HTTPS with the configured certificate; the upstream learns X-Forwarded-Proto: https', async () => {
    gw = await startTestGateway({
      demo,
      configure: (c) => {
        c.server.tls = tlsConfig({ http2: false });
        c.routes = [{ name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'users' }];
      },
    });
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await get(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.cn).toBe('gateway-one');

    demo.reset();
    await get(`${gw.url}/echo/1`);
    const seen = demo.users.recorder.calls.at(-1);
    expect(seen?.path).toBe('/echo/1');
    expect(seen?.headers['x-forwarded-proto']).toBe('https');
  });

  it('a drain tells an in-flight HTTPS/1.1 request whose answer has not started to close its connection', async () => {
    gw = await startTestGateway({
      demo,
      configure: (c) => {
        c.server.tls = tlsConfig({ http2: false });
        c.routes = [{ name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'users', timeoutMs: 5000 }];
      },
    });
    demo.users.recorder.behaviour = { ...demo.users.recorder.behaviour, delayMs: 400 };
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answer = new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpsRequest(`${gw!.url}/echo/slow`, { agent: keepAlive, ca: pki.read('ca.pem') }, (res) => {
          res.resume();
          resolve(res);
        });
        req.on('error', reject);
        req.end();
      });
      await new Promise((r) => setTimeout(r, 100));
      const closing = gw.close();
      gw = undefined;
      const res = await answer;
      expect(res.statusCode).toBe(200);
      expect(res.headers.connection).toBe('close');
      await closing;
    } finally {
      demo.reset();
      keepAlive.destroy();
    }
  });

  it('a client that does not trust the CA cannot connect', async () => {
    gw = await startTestGateway({ demo, configure: (c) => (c.server.tls = tlsConfig()) });
    await expect(get(`${gw.url}/healthz`, { ca: pki.read('other-ca.pem') })).rejects.toThrow(/self.signed|unable to verify|certificate/i);
  });

  it('minVersion TLSv1.3 refuses a TLS 1.2 client; TLSv1.2 (the default) accepts it', async () => {
    gw = await startTestGateway({ demo, configure: (c) => (c.server.tls = tlsConfig({ minVersion: 'TLSv1.3' })) });
    const port = Number(new URL(gw.url).port);
    const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3') =>
      new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.read('ca.pem'), maxVersion }, () => {
          resolve(s.getProtocol() ?? '');
          s.end();
        });
        s.on('error', reject);
      });
    await expect(handshake('TLSv1.2')).rejects.toThrow(/protocol version|alert/i);
    expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
    await gw.close();
    gw = await startTestGateway({ demo, configure: (c) => (c.server.tls = tlsConfig()) });
    const port12 = Number(new URL(gw.url).port);
    const ok = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: port12, ca: pki.read('ca.pem'), maxVersion: 'TLSv1.2' }, () => {
        resolve(s.getProtocol() ?? '');
        s.end();
      });
      s.on('error', reject);
    });
    expect(ok).toBe('TLSv1.2');
  });

  it('resumes sessions: a second connection with the first one\'s ticket skips the full handshake', async () => {
    gw = await startTestGateway({ demo, configure: (c) => (c.server.tls = tlsConfig()) });
    const port = Number(new URL(gw.url).port);
    const ticket = await new Promise<{ reused: boolean; session: Buffer }>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.read('ca.pem'), ALPNProtocols: ['http/1.1'] });
      // TLS 1.3 tickets arrive after the handshake.
      s.once('secureConnect', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
      s.once('session', (session: Buffer) => {
        resolve({ reused: s.isSessionReused(), session });
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(ticket.reused).toBe(false);
    const reused = await new Promise<boolean>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.read('ca.pem'), session: ticket.session, ALPNProtocols: ['http/1.1'] }, () => {
        resolve(s.isSessionReused());
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(reused).toBe(true);
  });
});

/** One request on an HTTP/2 session. */
function h2request(session: ClientHttp2Session, headers: Record<string, string>, body?: string | Buffer): Promise<{ headers: H2Headers; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let got: H2Headers = {};
    let text = '';
    stream.on('response', (h) => (got = h));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (text += c));
    stream.on('end', () => resolve({ headers: got, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

describe('HTTP/2 by ALPN (server.tls.http2, on by default)', () => {
  let session: ClientHttp2Session | undefined;
  afterEach(() => {
    session?.destroy();
    session = undefined;
  });

  async function h2gateway(extra: (c: Record<string, any>) => void = () => undefined): Promise<TestGateway> {
    return startTestGateway({
      demo,
      configure: (c) => {
        c.server.tls = tlsConfig({ clientCa: pki.path('ca.pem') });
        c.server.maxBodyBytes = 100;
        c.routes = [
          { name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'users' },
          { name: 'secure', match: { pathPrefix: '/secure' }, upstream: 'users', auth: 'mtls' },
        ];
        extra(c);
      },
    });
  }

  it('an HTTP/2 client gets h2: internal endpoints, GraphQL and passthrough answer; no pseudo-header reaches the upstream', async () => {
    gw = await h2gateway();
    session = h2connect(gw.url, { ca: pki.read('ca.pem') });
    const health = await h2request(session, { ':path': '/healthz' });
    expect(health.headers[':status']).toBe(200);
    expect((session.socket as TLSSocket).alpnProtocol).toBe('h2');

    const gql = await h2request(session, { ':method': 'POST', ':path': '/graphql', 'content-type': 'application/json' }, JSON.stringify({ query: '{ user(id: "1") { name } }' }));
    expect(JSON.parse(gql.body)).toEqual({ data: { user: { name: 'Ada Lovelace' } } });

    demo.reset();
    const echo = await h2request(session, { ':path': '/echo/h2?x=1', 'x-test': 'yes' });
    expect(echo.headers[':status']).toBe(200);
    const seen = demo.users.recorder.calls.at(-1)!;
    expect(seen.path).toBe('/echo/h2');
    expect(seen.headers['x-test']).toBe('yes');
    expect(Object.keys(seen.headers).filter((h) => h.startsWith(':'))).toEqual([]);
    // :authority stands for Host.
    expect(seen.headers['x-forwarded-host']).toBe(new URL(gw.url).host);
    expect(seen.headers['x-forwarded-proto']).toBe('https');
  });

  it('request bodies stream upstream over HTTP/2, buffered and streamed alike; GraphQL POSTs are read whole', async () => {
    gw = await h2gateway((c) => (c.server.maxBodyBytes = 1_048_576));
    session = h2connect(gw.url, { ca: pki.read('ca.pem') });
    for (const size of [1000, 200_000]) {
      const res = await h2request(session, { ':method': 'POST', ':path': '/echo/upload', 'content-type': 'text/plain' }, Buffer.alloc(size, 98));
      expect(res.headers[':status']).toBe(200);
      expect(JSON.parse(res.body).body).toHaveLength(size);
    }
    // No content-length on HTTP/2: the limit holds on what arrives.
    demo.reset();
    const over = await h2request(session, { ':method': 'POST', ':path': '/echo/over', 'content-type': 'text/plain' }, Buffer.alloc(1_200_000, 98));
    expect(over.headers[':status']).toBe(413);
    expect((await h2request(session, { ':path': '/healthz' })).headers[':status']).toBe(200);
  });

  it('HTTP/1.1 clients keep working on the same port', async () => {
    gw = await h2gateway();
    const plain = await get(`${gw.url}/healthz`);
    expect(plain.status).toBe(200);
    expect(plain.socket.alpnProtocol).toBe(false);
    const port = Number(new URL(gw.url).port);
    const alpn = await new Promise<string | false>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.read('ca.pem'), ALPNProtocols: ['http/1.1'] }, () => {
        resolve(s.alpnProtocol ?? false);
        s.end();
      });
      s.on('error', reject);
    });
    expect(alpn).toBe('http/1.1');
  });

  it('a refusal that would say Connection: close on HTTP/1 (body too large) answers 413 on its stream; the connection carries on', async () => {
    gw = await h2gateway();
    session = h2connect(gw.url, { ca: pki.read('ca.pem') });
    const big = await h2request(session, { ':method': 'POST', ':path': '/echo/big', 'content-type': 'text/plain', 'content-length': '1000' }, Buffer.alloc(1000, 97));
    expect(big.headers[':status']).toBe(413);
    expect(big.headers.connection).toBeUndefined();
    expect((await h2request(session, { ':path': '/healthz' })).headers[':status']).toBe(200);
  });

  it('server.maxHeaderBytes holds on HTTP/2 too: a larger header list is 431 on its stream, the session carries on', async () => {
    gw = await h2gateway((c) => (c.server.maxHeaderBytes = 4096));
    session = h2connect(gw.url, { ca: pki.read('ca.pem') });
    demo.reset();
    const big = await h2request(session, { ':path': '/echo/big', 'x-big': 'a'.repeat(5000) });
    expect(big.headers[':status']).toBe(431);
    expect(demo.users.recorder.calls).toEqual([]);
    expect((await h2request(session, { ':path': '/healthz', 'x-small': 'a'.repeat(1000) })).headers[':status']).toBe(200);
  });

  it('an idle HTTP/2 session is sent GOAWAY after the keep-alive timeout, like an idle HTTP/1 connection is closed', async () => {
    const server = createTlsServer({ ...(tlsConfig() as { cert: string; key: string }), minVersion: 'TLSv1.2', http2: true, clientRoles: {} }, pki.dir, { keepAliveTimeout: 200 }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    session = h2connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, { ca: pki.read('ca.pem') });
    try {
      expect((await h2request(session, { ':path': '/' })).body).toBe('ok');
      const started = Date.now();
      await new Promise<void>((resolve) => session!.once('goaway', () => resolve()));
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      session.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('an HTTP/2 client is told at most 100 concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS)', async () => {
    const server = createTlsServer({ ...(tlsConfig() as { cert: string; key: string }), minVersion: 'TLSv1.2', http2: true, clientRoles: {} }, pki.dir, {}, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    session = h2connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, { ca: pki.read('ca.pem') });
    try {
      expect((await h2request(session, { ':path': '/' })).body).toBe('ok');
      expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    } finally {
      session.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('mTLS over HTTP/2: the client certificate names the caller', async () => {
    gw = await h2gateway();
    session = h2connect(gw.url, { ca: pki.read('ca.pem'), cert: pki.read('client.pem'), key: pki.read('client-key.pem') });
    demo.reset();
    await h2request(session, { ':path': '/secure/1' });
    expect(demo.users.recorder.calls.at(-1)?.headers['x-user-id']).toBe('client-a');
    const anonymous = h2connect(gw.url, { ca: pki.read('ca.pem') });
    try {
      expect((await h2request(anonymous, { ':path': '/secure/1' })).headers[':status']).toBe(401);
    } finally {
      anonymous.destroy();
    }
  });

  it('draining sends GOAWAY to HTTP/2 clients, lets an in-flight stream finish, and does not wait for idle sessions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-tls-drain-'));
    const file = join(dir, 'gateway.yaml');
    const upstreams = { ...baseConfig().upstreams, users: { targets: [{ url: demo.users.url }], timeoutMs: 5000 } };
    const routes = [{ name: 'downloads', match: { pathPrefix: '/download' }, upstream: 'users' }];
    writeFileSync(file, stringify({ ...baseConfig(), upstreams, routes, server: { port: 0, host: '127.0.0.1', drainMs: 5000, drainGraceMs: 0, tls: tlsConfig() } }));
    served = await serveGateway({ configFile: file, logger: createLogger({ level: 'silent' }), schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR });
    const idle = h2connect(served.url, { ca: pki.read('ca.pem') });
    session = h2connect(served.url, { ca: pki.read('ca.pem') });
    try {
      expect((await h2request(idle, { ':path': '/healthz' })).headers[':status']).toBe(200);
      const idleGoaway = new Promise<void>((resolve) => idle.once('goaway', () => resolve()));
      const busyGoaway = new Promise<void>((resolve) => session!.once('goaway', () => resolve()));
      const total = 16 * 1024 * 8;
      const stream = session.request({ ':path': `/download?bytes=${total}&chunkMs=40` });
      let got = 0;
      const done = new Promise<number>((resolve, reject) => {
        stream.on('data', (c: Buffer) => (got += c.length));
        stream.on('end', () => resolve(got));
        stream.on('error', reject);
      });
      await new Promise((r) => stream.once('data', r));
      const closing = served.close();
      served = undefined;
      await idleGoaway;
      await busyGoaway;
      expect(await done).toBe(total);
      await closing;
    } finally {
      idle.destroy();
    }
  });
});

describe('TLS listener reload', () => {
  it('a reload swaps the certificate: a new connection sees the new one, an open keep-alive connection keeps working', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-tls-reload-'));
    copyFileSync(pki.path('server.pem'), join(dir, 'cert.pem'));
    copyFileSync(pki.path('server-key.pem'), join(dir, 'key.pem'));
    const file = join(dir, 'gateway.yaml');
    const config = {
      ...baseConfig(),
      upstreams: { users: { targets: [{ url: demo.users.url }] }, orders: { targets: [{ url: demo.orders.url }] }, catalog: { protocol: 'grpc', targets: [{ url: demo.catalog.address }] } },
      // Relative paths: resolved against the config file's folder.
      server: { port: 0, host: '127.0.0.1', drainMs: 2000, tls: { cert: 'cert.pem', key: 'key.pem', http2: false } },
    };
    writeFileSync(file, stringify(config));
    served = await serveGateway({ configFile: file, logger: createLogger({ level: 'silent' }), schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR });
    expect(served.url).toMatch(/^https:/);

    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(`${served.url}/healthz`, { agent: keepAlive });
    expect(before.cn).toBe('gateway-one');

    copyFileSync(pki.path('server2.pem'), join(dir, 'cert.pem'));
    copyFileSync(pki.path('server2-key.pem'), join(dir, 'key.pem'));
    expect(await served.reload()).toEqual({ ok: true, generation: 2 });

    const fresh = await get(`${served.url}/healthz`);
    expect(fresh.cn).toBe('gateway-two');
    // The open connection was not dropped: the same socket answers, still under the old certificate.
    const again = await get(`${served.url}/healthz`, { agent: keepAlive });
    expect(again.status).toBe(200);
    expect(again.socket).toBe(before.socket);
    expect(again.cn).toBe('gateway-one');
    keepAlive.destroy();
  });

  it('a swap keeps session tickets valid, except when the client CA changed: then no old session resumes', async () => {
    const base = { ...(tlsConfig() as { cert: string; key: string }), minVersion: 'TLSv1.2' as const, http2: false, clientRoles: {} };
    const server = createTlsServer({ ...base, clientCa: pki.path('ca.pem') }, pki.dir, {}, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    /** A connection; its ticket (TLS 1.3 tickets arrive after the handshake) and whether it resumed. */
    const connectOnce = (session?: Buffer) =>
      new Promise<{ reused: boolean; ticket: Buffer | undefined }>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.read('ca.pem'), session, ALPNProtocols: ['http/1.1'] });
        let reused = false;
        let ticket: Buffer | undefined;
        s.once('secureConnect', () => {
          reused = s.isSessionReused();
          s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
        });
        s.on('session', (t: Buffer) => (ticket = t));
        s.resume();
        s.once('close', () => resolve({ reused, ticket }));
        s.on('error', reject);
      });
    try {
      const first = await connectOnce();
      swapListenerCertificate(server, { ...base, clientCa: pki.path('ca.pem') }, pki.dir);
      expect((await connectOnce(first.ticket)).reused).toBe(true);
      const second = await connectOnce();
      expect(second.ticket).toBeDefined();
      swapListenerCertificate(server, { ...base, clientCa: pki.path('other-ca.pem') }, pki.dir);
      expect((await connectOnce(second.ticket)).reused).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a reload with a key that does not fit the certificate is refused; the serving certificate stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-tls-reload-'));
    copyFileSync(pki.path('server.pem'), join(dir, 'cert.pem'));
    copyFileSync(pki.path('server-key.pem'), join(dir, 'key.pem'));
    const file = join(dir, 'gateway.yaml');
    const config = {
      ...baseConfig(),
      server: { port: 0, host: '127.0.0.1', drainMs: 2000, tls: { cert: 'cert.pem', key: 'key.pem' } },
    };
    writeFileSync(file, stringify(config));
    served = await serveGateway({ configFile: file, logger: createLogger({ level: 'silent' }), schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR });
    copyFileSync(pki.path('server2.pem'), join(dir, 'cert.pem'));
    const result = await served.reload();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/server\.tls/);
    const still = await get(`${served.url}/healthz`);
    expect(still.status).toBe(200);
    expect(still.cn).toBe('gateway-one');
  });
});

describe('gateway start with TLS + SIGHUP', () => {
  it('logs an https URL, and SIGHUP swaps the certificate for new connections while an open one goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-tls-hup-'));
    copyFileSync(pki.path('server.pem'), join(dir, 'cert.pem'));
    copyFileSync(pki.path('server-key.pem'), join(dir, 'key.pem'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify({ ...baseConfig(), logging: { level: 'info', accessLog: false }, server: { port: 0, host: '127.0.0.1', tls: { cert: 'cert.pem', key: 'key.pem' } } }));
    const cli = await startCliGateway(['--config', file, ...FIXTURE_CLI_ARGS]);
    const url = `https://127.0.0.1:${cli.port}`;
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(String(cli.lines.find((l) => l.msg === 'listening')?.url)).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
      const before = await get(`${url}/healthz`, { agent: keepAlive });
      expect(before.cn).toBe('gateway-one');
      copyFileSync(pki.path('server2.pem'), join(dir, 'cert.pem'));
      copyFileSync(pki.path('server2-key.pem'), join(dir, 'key.pem'));
      cli.child.kill('SIGHUP');
      await expect.poll(() => cli.lines.some((l) => l.msg === 'reloaded'), { timeout: 10_000 }).toBe(true);
      expect((await get(`${url}/healthz`)).cn).toBe('gateway-two');
      const again = await get(`${url}/healthz`, { agent: keepAlive });
      expect(again.socket).toBe(before.socket);
      expect(again.status).toBe(200);
    } finally {
      keepAlive.destroy();
      expect(await cli.stop()).toBe(0);
    }
  });
});

describe('TLS config problems, by key path', () => {
  const problems = (mutate: (c: Record<string, any>) => void): string[] => {
    const c = baseConfig();
    mutate(c);
    try {
      configFrom(c);
      return [];
    } catch (err) {
      return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it('requestCert without clientCa', () => {
    expect(problems((c) => (c.server.tls = { cert: 'a.pem', key: 'b.pem', requestCert: true }))).toEqual([expect.stringMatching(/^server\.tls\.clientCa: requestCert needs/)]);
  });

  it('an unknown key and a bad minVersion', () => {
    const found = problems((c) => (c.server.tls = { cert: 'a.pem', key: 'b.pem', minVersion: 'TLSv1.1', ciphers: 'x' }));
    expect(found).toContainEqual(expect.stringMatching(/^server\.tls\.minVersion: /));
    expect(found).toContainEqual('server.tls.ciphers: unknown key');
  });

  it('a client role that could not travel in X-User-Roles', () => {
    expect(problems((c) => (c.server.tls = { cert: 'a.pem', key: 'b.pem', clientCa: 'c.pem', clientRoles: { 'client-a': ['ok', 'a,b'] } }))).toEqual([
      expect.stringMatching(/^server\.tls\.clientRoles\.client-a\[1\]: must be 1-128 visible ASCII characters/),
    ]);
  });

  it('clientRoles without a client CA', () => {
    expect(problems((c) => (c.server.tls = { cert: 'a.pem', key: 'b.pem', clientRoles: { x: ['admin'] } }))).toEqual([expect.stringMatching(/^server\.tls\.clientRoles: client certificates are not asked for/)]);
  });

  it('auth: mtls without a client CA', () => {
    const found = problems((c) => (c.routes = [{ name: 'r', match: { pathPrefix: '/r' }, upstream: 'users', auth: 'mtls' }]));
    expect(found).toEqual([expect.stringMatching(/^routes\[0\]\.auth: auth: mtls needs server\.tls with clientCa/)]);
  });

  it('upstream tls: http:// targets and a certificate without its key', () => {
    const found = problems((c) => (c.upstreams.users.tls = { cert: 'c.pem' }));
    expect(found).toContainEqual(expect.stringMatching(/^upstreams\.users\.targets\[0\]\.url: tls is set: the target must be an https:\/\/ URL/));
    expect(found).toContainEqual(expect.stringMatching(/^upstreams\.users\.tls\.key: a client certificate needs both cert and key/));
  });

  it('config check reads the TLS files: each unusable one is listed by key path (exit 1); usable ones pass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-tls-check-'));
    copyFileSync(pki.path('server.pem'), join(dir, 'cert.pem'));
    copyFileSync(pki.path('server-key.pem'), join(dir, 'key.pem'));
    copyFileSync(pki.path('server2-key.pem'), join(dir, 'other-key.pem'));
    copyFileSync(pki.path('ca.pem'), join(dir, 'ca.pem'));
    const file = join(dir, 'gateway.yaml');
    const config = (serverKey: string, upstreamCa: string) => {
      const c = baseConfig();
      c.server.tls = { cert: 'cert.pem', key: serverKey };
      c.upstreams.users = { targets: [{ url: 'https://127.0.0.1:1' }], tls: { ca: upstreamCa } };
      return stringify(c);
    };
    writeFileSync(file, config('other-key.pem', 'missing-ca.pem'));
    const bad = await runCli(['config', 'check', '--config', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/server\.tls: the certificate, key or CA cannot be used/);
    expect(bad.stderr).toMatch(/upstreams\.users\.tls\.ca: cannot read missing-ca\.pem: ENOENT/);
    writeFileSync(file, config('key.pem', 'ca.pem'));
    const good = await runCli(['config', 'check', '--config', file]);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
  });

  it('a missing certificate file stops the start with its key path; a non-PEM key too', async () => {
    await expect(startTestGateway({ demo, configure: (c) => (c.server.tls = { cert: join(pki.dir, 'nope.pem'), key: pki.path('server-key.pem') }) })).rejects.toThrow(/server\.tls\.cert: cannot read .*nope\.pem: ENOENT/);
    await expect(startTestGateway({ demo, configure: (c) => (c.server.tls = { cert: pki.path('server.pem'), key: pki.path('server.ext') }) })).rejects.toThrow(/server\.tls\.key: .* is not a PEM file/);
  });
});
