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
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { serveGateway, type ServedGateway } from '../src/reload.js';
import { ConfigError } from '../src/config/load.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { baseConfig, configFrom, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestPki, type TestPki } from './helpers/tls.js';

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

  it('auth: mtls without a client CA', () => {
    const found = problems((c) => (c.routes = [{ name: 'r', match: { pathPrefix: '/r' }, upstream: 'users', auth: 'mtls' }]));
    expect(found).toEqual([expect.stringMatching(/^routes\[0\]\.auth: auth: mtls needs server\.tls with clientCa/)]);
  });

  it('upstream tls: http:// targets and a certificate without its key', () => {
    const found = problems((c) => (c.upstreams.users.tls = { cert: 'c.pem' }));
    expect(found).toContainEqual(expect.stringMatching(/^upstreams\.users\.targets\[0\]\.url: tls is set: the target must be an https:\/\/ URL/));
    expect(found).toContainEqual(expect.stringMatching(/^upstreams\.users\.tls\.key: a client certificate needs both cert and key/));
  });

  it('a missing certificate file stops the start with its key path; a non-PEM key too', async () => {
    await expect(startTestGateway({ demo, configure: (c) => (c.server.tls = { cert: join(pki.dir, 'nope.pem'), key: pki.path('server-key.pem') }) })).rejects.toThrow(/server\.tls\.cert: cannot read .*nope\.pem: ENOENT/);
    await expect(startTestGateway({ demo, configure: (c) => (c.server.tls = { cert: pki.path('server.pem'), key: pki.path('server.ext') }) })).rejects.toThrow(/server\.tls\.key: .* is not a PEM file/);
  });
});
