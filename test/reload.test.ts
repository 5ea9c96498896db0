/**
 * Hot reload: a valid config or schema takes over without failing a request (in-flight ones
 * finish on the generation that took them, the socket is never re-bound); an invalid one is
 * refused with its reason logged while the old one keeps serving. Shared limits (Redis)
 * survive a reload. The last test drives the real CLI with SIGHUP.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { serveGateway, type ServedGateway } from '../src/reload.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FIXTURE_CLI_ARGS, FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startCliGateway } from './helpers/cli.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from './helpers/redis.js';

let demo: FixtureUpstreams;
beforeAll(async () => {
  demo = await startFixtureUpstreams();
});
afterAll(async () => {
  await demo.close();
});

function rawConfig(extra: Record<string, any> = {}): Record<string, any> {
  return {
    // drainGraceMs 0: close() does not wait a grace period for the test's idle keep-alive sockets (a retiring generation never did).
    server: { port: 0, host: '127.0.0.1', drainMs: 3000, drainGraceMs: 0 },
    logging: { level: 'info', accessLog: false },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: demo.users.url }], timeoutMs: 5000 },
      orders: { protocol: 'http', targets: [{ url: demo.orders.url }], timeoutMs: 5000 },
      catalog: { protocol: 'grpc', targets: [{ url: demo.catalog.address }], idempotentMethods: ['GetProducts'] },
    },
    routes: [{ name: 'downloads', match: { pathPrefix: '/download', methods: ['GET'] }, upstream: 'users', timeoutMs: 20000 }],
    ...extra,
  };
}

const ECHO_ROUTE = { name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'users' };

interface Harness {
  served: ServedGateway;
  file: string;
  dir: string;
  logs: Array<Record<string, any>>;
  write(obj: Record<string, any> | string): void;
}

let open: ServedGateway | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function harness(obj: Record<string, any>, schemaDir = FIXTURE_SCHEMA_DIR): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
  const file = join(dir, 'gateway.yaml');
  const write = (o: Record<string, any> | string) => writeFileSync(file, typeof o === 'string' ? o : stringify(o));
  write(obj);
  const logs: Array<Record<string, any>> = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void logs.push(JSON.parse(s)) } });
  const served = await serveGateway({ configFile: file, port: 0, host: '127.0.0.1', logger, schemaDir, resolversDir: FIXTURE_RESOLVERS_DIR });
  open = served;
  return { served, file, dir, logs, write };
}

async function gql(url: string, query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { status: res.status, body: await res.json() };
}

/** Keeps `n` request loops busy until stopped; records every status. */
function load(url: string, n = 4) {
  const statuses: number[] = [];
  const errors: string[] = [];
  let running = true;
  const loops = Array.from({ length: n }, async () => {
    while (running) {
      try {
        const r = await gql(url, '{ user(id: "1") { name } }');
        statuses.push(r.body?.data?.user?.name === 'Ada Lovelace' ? r.status : -r.status);
      } catch (err) {
        errors.push(String((err as Error).cause ?? err));
      }
    }
  });
  return {
    statuses,
    errors,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Starts a slow streamed download and resolves with what arrived. */
function slowDownload(url: string, bytes: number, onFirstChunk: () => void): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/download?bytes=${bytes}&chunkMs=40`, (res) => {
      let got = 0;
      let first = true;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (first) {
          first = false;
          onFirstChunk();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: got }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hot reload', () => {
  it('a valid config takes over under load: no failed request, an in-flight download finishes, the port stays', async () => {
    const h = await harness(rawConfig());
    const { served } = h;
    const port = served.port;
    expect((await fetch(`${served.url}/echo/x`)).status).toBe(404);

    const traffic = load(served.url);
    const total = 16 * 1024 * 10;
    let reloaded: Promise<unknown> | undefined;
    const download = slowDownload(served.url, total, () => {
      h.write(rawConfig({ routes: [...rawConfig().routes, ECHO_ROUTE] }));
      reloaded = served.reload();
    });
    const got = await download;
    expect(await reloaded).toEqual({ ok: true, generation: 2 });
    // The new route answers on the same socket, with no re-bind.
    const echo = await fetch(`${served.url}/echo/x`);
    expect(echo.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    await traffic.stop();

    expect(got).toEqual({ status: 200, bytes: total });
    expect(served.port).toBe(port);
    expect(traffic.errors).toEqual([]);
    expect(traffic.statuses.length).toBeGreaterThan(20);
    expect(traffic.statuses.every((s) => s === 200)).toBe(true);
    expect(h.logs.some((l) => l.msg === 'reloaded' && l.generation === 2)).toBe(true);
  });

  it('a GraphQL request in flight over a reload makes its later upstream calls on the generation that took it', async () => {
    const h = await harness(rawConfig());
    // The users call is slow; the orders and catalog calls come after it, once the reload has happened.
    demo.users.recorder.behaviour.delayMs = 400;
    try {
      const pending = gql(h.served.url, '{ users(ids: ["1", "2"]) { name orders { total items { product { name } } } } }');
      await new Promise((r) => setTimeout(r, 100));
      h.write(rawConfig({ routes: [...rawConfig().routes, ECHO_ROUTE] }));
      expect(await h.served.reload()).toEqual({ ok: true, generation: 2 });
      const answer = await pending;
      expect(answer.body.errors).toBeUndefined();
      expect(answer.status).toBe(200);
      expect(answer.body.data.users).toHaveLength(2);
      expect(answer.body.data.users[0].orders.length).toBeGreaterThan(0);
      expect(answer.body.data.users[0].orders[0].items[0].product.name).toEqual(expect.any(String));
    } finally {
      demo.users.recorder.behaviour.delayMs = 0;
    }
  });

  it('an invalid config is refused with the key path logged, and the running one keeps serving', async () => {
    const h = await harness(rawConfig({ routes: [...rawConfig().routes, ECHO_ROUTE] }));
    const traffic = load(h.served.url, 2);
    h.write(rawConfig({ server: { port: 0, drainMs: 'soon' } }));
    const result = await h.served.reload();
    await new Promise((r) => setTimeout(r, 100));
    await traffic.stop();

    expect(result.ok).toBe(false);
    expect(result.generation).toBe(1);
    expect(!result.ok && result.error).toContain('server.drainMs');
    const refused = h.logs.find((l) => l.msg?.startsWith('reload refused'));
    expect(refused?.reason).toContain('server.drainMs');
    expect((await fetch(`${h.served.url}/echo/x`)).status).toBe(200);
    expect(traffic.errors).toEqual([]);
    expect(traffic.statuses.every((s) => s === 200)).toBe(true);

    // Fixing the file makes the next reload succeed.
    h.write(rawConfig());
    expect(await h.served.reload()).toEqual({ ok: true, generation: 2 });
    expect((await fetch(`${h.served.url}/echo/x`)).status).toBe(404);
  });

  it('reloads the schema too, and refuses an SDL that does not compose, naming the file', async () => {
    const schemaDir = mkdtempSync(join(tmpdir(), 'gw-reload-schema-'));
    cpSync(FIXTURE_SCHEMA_DIR, schemaDir, { recursive: true });
    const h = await harness(rawConfig(), schemaDir);
    const probe = '{ __type(name: "Query") { fields { name } } }';
    const fields = async () => ((await gql(h.served.url, probe)).body.data.__type.fields as Array<{ name: string }>).map((f) => f.name);
    expect(await fields()).not.toContain('gatewayVersion');

    writeFileSync(join(schemaDir, 'zz-broken.graphql'), 'extend type Query { oops: Nope }\n');
    const bad = await h.served.reload();
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toContain('zz-broken.graphql');
    expect((await gql(h.served.url, '{ user(id: "2") { name } }')).body.data.user.name).toBeTruthy();

    writeFileSync(join(schemaDir, 'zz-broken.graphql'), 'extend type Query { gatewayVersion: String }\n');
    expect((await h.served.reload()).ok).toBe(true);
    expect(await fields()).toContain('gatewayVersion');
  });

  it('keeps in-process limit windows across a reload that leaves them unchanged, and starts new ones when they change', async () => {
    const limited = (points: number) => rawConfig({ rateLimit: { perClient: { points, durationSec: 60 } } });
    const h = await harness(limited(4));
    const statuses: number[] = [];
    const one = async () => statuses.push((await gql(h.served.url, '{ user(id: "1") { name } }')).status);
    for (let i = 0; i < 3; i++) await one();
    // Another key changes (a route is added): the window and its counts carry over.
    h.write({ ...limited(4), routes: [...rawConfig().routes, ECHO_ROUTE] });
    expect((await h.served.reload()).ok).toBe(true);
    // The new route is served, and its request is the window's 4th point (a fresh window would say 1st).
    const echo = await fetch(`${h.served.url}/echo/x`);
    expect(echo.status).toBe(200);
    expect(echo.headers.get('x-ratelimit-remaining')).toBe('0');
    await one();
    expect(statuses).toEqual([200, 200, 200, 429]);
    // The window itself changes: a new one, with the new size.
    h.write(limited(6));
    expect((await h.served.reload()).ok).toBe(true);
    const after: number[] = [];
    for (let i = 0; i < 7; i++) after.push((await gql(h.served.url, '{ user(id: "1") { name } }')).status);
    expect(after).toEqual([200, 200, 200, 200, 200, 200, 429]);
  });

  it('--watch reloads when the config file changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-watch-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(rawConfig()));
    const served = await serveGateway({ configFile: file, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }), schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR, watch: true, watchDebounceMs: 50 });
    open = served;
    expect((await fetch(`${served.url}/echo/w`)).status).toBe(404);
    writeFileSync(file, stringify(rawConfig({ routes: [...rawConfig().routes, ECHO_ROUTE] })));
    await waitFor(() => served.generation === 2);
    expect((await fetch(`${served.url}/echo/w`)).status).toBe(200);
  });

  describe.skipIf(noRedis)('with Redis', () => {
    const prefix = testPrefix('reload');
    afterAll(() => dropPrefix(prefix));

    it('does not reset limits counted in Redis', async () => {
      const cfg = rawConfig({ redis: { url: REDIS_URL, keyPrefix: prefix }, rateLimit: { perClient: { points: 5, durationSec: 60 } } });
      const h = await harness(cfg);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await gql(h.served.url, '{ user(id: "1") { name } }')).status);
      h.write({ ...cfg, logging: { level: 'info', accessLog: true } });
      expect((await h.served.reload()).ok).toBe(true);
      for (let i = 0; i < 3; i++) statuses.push((await gql(h.served.url, '{ user(id: "1") { name } }')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    });
  });
});

describe('gateway start + SIGHUP', () => {
  it('re-reads the config file on SIGHUP, and logs the reason when the new one is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-hup-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(rawConfig()));
    const gw = await startCliGateway(['--config', file, '--port', '0', ...FIXTURE_CLI_ARGS]);
    try {
      expect((await fetch(`${gw.url}/echo/a`)).status).toBe(404);
      writeFileSync(file, stringify(rawConfig({ routes: [...rawConfig().routes, ECHO_ROUTE] })));
      gw.child.kill('SIGHUP');
      await waitFor(() => gw.lines.some((l) => l.msg === 'reloaded'));
      expect((await fetch(`${gw.url}/echo/a`)).status).toBe(200);

      writeFileSync(file, 'server: { port: 0, colour: blue }\nupstreams: {}\n');
      gw.child.kill('SIGHUP');
      await waitFor(() => gw.lines.some((l) => String(l.msg).startsWith('reload refused')));
      const refused = gw.lines.find((l) => String(l.msg).startsWith('reload refused'))!;
      expect(String(refused.reason)).toContain('server.colour');
      expect((await fetch(`${gw.url}/echo/a`)).status).toBe(200);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
