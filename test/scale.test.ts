/**
 * `gateway start --workers N`: N processes behind one port, a killed worker is replaced while
 * the others keep serving, one `/metrics` scrape sees the whole group, SIGHUP reloads every
 * worker, SIGTERM drains them all and exits 0. A SIGHUP cannot switch the group to a memory
 * session store (each worker would hold its own sessions).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseWorkers } from '../src/cli/start-command.js';
import { restartDelayMs } from '../src/cluster/primary.js';
import { startCliGateway, type CliGateway } from './helpers/cli.js';
import { FIXTURE_CLI_ARGS, FIXTURE_DEMO_ARGS } from './fixtures/domain/index.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from './helpers/redis.js';

function config(extra: Record<string, any> = {}): Record<string, any> {
  return {
    server: { port: 4000, drainMs: 3000 },
    logging: { accessLog: true },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:7001' }] },
      orders: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:7002' }] },
      catalog: { protocol: 'grpc', targets: [{ url: '127.0.0.1:7003' }], idempotentMethods: ['GetProducts'] },
    },
    ...extra,
  };
}

function configFile(obj: Record<string, any>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gw-scale-')), 'gateway.yaml');
  writeFileSync(file, stringify(obj));
  return file;
}

async function user(url: string): Promise<string | undefined> {
  // A fresh connection per request, so the primary's round-robin hands requests to every worker.
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ query: '{ user(id: "1") { name } }' }),
    signal: AbortSignal.timeout(5000),
  });
  return ((await res.json()) as any).data?.user?.name;
}

async function waitFor(cond: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const workerLines = (gw: CliGateway) => gw.lines.filter((l) => l.msg === 'worker listening');
/** Sum of `gateway_requests_total` over its GraphQL series. */
const graphqlRequests = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('gateway_requests_total{') && l.includes('route="graphql"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
const metricValue = (text: string, name: string) => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

describe('gateway start --workers', () => {
  it('serves one port from two workers, replaces a killed worker, aggregates /metrics, reloads on SIGHUP and drains on SIGTERM', async () => {
    const file = configFile(config());
    const gw = await startCliGateway(['--config', file, '--port', '0', ...FIXTURE_DEMO_ARGS, '--workers', '2'], { timeoutMs: 30_000 });
    let exitCode: number | null = null;
    try {
      const listening = gw.lines.find((l) => l.msg === 'listening')!;
      expect(listening.workers).toBe(2);
      await waitFor(() => workerLines(gw).length === 2);
      const pids = workerLines(gw).map((l) => l.pid as number);
      expect(new Set(pids).size).toBe(2);
      expect(workerLines(gw).every((l) => l.port === gw.port)).toBe(true);

      // Both workers answer on the one port (each access-log line carries the worker's pid).
      for (let i = 0; i < 12; i++) expect(await user(gw.url)).toBe('Ada Lovelace');
      await waitFor(() => new Set(gw.lines.filter((l) => l.msg === 'request').map((l) => l.pid)).size === 2);

      // One scrape, whichever worker takes it, sees the whole group: 12 GraphQL requests in all.
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${gw.url}/metrics`, { headers: { connection: 'close' } });
        expect(res.status).toBe(200);
        const text = await res.text();
        expect(metricValue(text, 'gateway_cluster_workers')).toBe(2);
        expect(graphqlRequests(text)).toBe(12);
      }

      // Kill one worker hard: the primary notices, the other keeps serving, a replacement joins the same port.
      // (A connection the primary hands over at the very instant of the death is lost with it: node:cluster
      // cannot take it back, so the test sends once the primary has seen the exit, as a retrying client would.)
      process.kill(pids[0]!, 'SIGKILL');
      await waitFor(() => gw.lines.some((l) => l.msg === 'worker died; restarting it'));
      const died = gw.lines.find((l) => l.msg === 'worker died; restarting it')!;
      expect(died.signal).toBe('SIGKILL');
      expect(died.workerPid).toBe(pids[0]);
      for (let i = 0; i < 6; i++) expect(await user(gw.url)).toBe('Ada Lovelace');
      await waitFor(() => workerLines(gw).length === 3);
      const replacement = workerLines(gw)[2]!;
      expect(replacement.worker).toBe(workerLines(gw).find((l) => l.pid === pids[0])!.worker);
      expect(replacement.port).toBe(gw.port);
      for (let i = 0; i < 12; i++) expect(await user(gw.url)).toBe('Ada Lovelace');
      // Access-log lines are batched (logging.flushIntervalMs): wait for the replacement's to arrive.
      await waitFor(() => gw.lines.some((l) => l.msg === 'request' && l.pid === replacement.pid));
      const served = new Set(gw.lines.filter((l) => l.msg === 'request').map((l) => l.pid));
      expect(served.has(replacement.pid)).toBe(true);

      // SIGHUP reaches every worker through the primary.
      writeFileSync(file, stringify(config({ routes: [{ name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'users' }] })));
      gw.child.kill('SIGHUP');
      await waitFor(() => gw.lines.some((l) => l.msg === 'reloaded' && l.workers === 2));
      for (let i = 0; i < 4; i++) expect((await fetch(`${gw.url}/echo/x`, { headers: { connection: 'close' } })).status).toBe(200);
    } finally {
      exitCode = await gw.stop('SIGTERM');
    }
    expect(exitCode).toBe(0);
    const stopped = gw.lines.find((l) => l.msg === 'stopped' && Array.isArray(l.exitCodes));
    expect(stopped?.exitCodes).toEqual([0, 0]);
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('refuses to start with an invalid config before forking any worker', async () => {
    const file = configFile({ ...config(), server: { port: 0, nope: true } });
    await expect(startCliGateway(['--config', file, ...FIXTURE_CLI_ARGS, '--workers', '2'], { timeoutMs: 15_000 })).rejects.toThrow(/exited with 1.*server\.nope/s);
  });
});

describe('worker settings', () => {
  it.skipIf(noRedis)('refuses a SIGHUP that would switch the group to the memory session store, at the primary and at a worker signalled directly', async () => {
    const keyPrefix = testPrefix('scale-sessions');
    const withStore = (store: 'memory' | 'redis') => config({
      server: { port: 0, drainMs: 1000 },
      redis: { url: REDIS_URL, keyPrefix },
      auth: { oidc: { issuer: 'http://127.0.0.1:1', clientId: 'gateway', clientSecret: 'secret', redirectUri: 'http://127.0.0.1:1/auth/callback', sessionSecret: 'x'.repeat(40), session: { store } } },
    });
    const file = configFile(withStore('redis'));
    const gw = await startCliGateway(['--config', file, '--port', '0', ...FIXTURE_DEMO_ARGS, '--workers', '2'], { timeoutMs: 30_000 });
    const refused = () => gw.lines.filter((l) => l.msg === 'reload refused: the running configuration keeps serving');
    try {
      await waitFor(() => workerLines(gw).length === 2);
      writeFileSync(file, stringify(withStore('memory')));
      gw.child.kill('SIGHUP');
      await waitFor(() => refused().length === 1);
      expect(String(refused()[0]!.reason)).toMatch(/auth\.oidc\.session\.store: is memory, which one process holds: with --workers 2 /);
      // The primary refused it: no worker was asked to reload.
      expect(gw.lines.some((l) => l.msg === 'reloading')).toBe(false);
      // A worker signalled directly knows the group's size and refuses it too.
      process.kill(workerLines(gw)[0]!.pid as number, 'SIGHUP');
      await waitFor(() => refused().length === 2);
      expect(refused()[1]!.pid).toBe(workerLines(gw)[0]!.pid);
      expect(String(refused()[1]!.reason)).toMatch(/auth\.oidc\.session\.store: is memory/);
      expect(await user(gw.url)).toBe('Ada Lovelace');
    } finally {
      await gw.stop('SIGTERM');
      await dropPrefix(keyPrefix);
    }
  }, 60_000);

  it('parses --workers N|auto and rejects nonsense', () => {
    expect(parseWorkers('3')).toBe(3);
    expect(parseWorkers('auto')).toBeGreaterThanOrEqual(1);
    expect(parseWorkers(undefined)).toBeUndefined();
    expect(() => parseWorkers('0')).toThrow(/--workers/);
    expect(() => parseWorkers('two')).toThrow(/--workers/);
  });

  it('backs off restarts of workers that keep dying young', () => {
    expect([1, 2, 3, 4, 10].map(restartDelayMs)).toEqual([250, 500, 1000, 2000, 10_000]);
  });
});
