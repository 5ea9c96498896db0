/**
 * Shared state on the Redis topologies operators run: a Redis Cluster (three primaries) and a
 * Sentinel-managed primary with a replica, each started here as real `redis-server` processes
 * on ephemeral ports. Three gateway instances share each one and must admit exactly one
 * window's worth of requests between them; under Sentinel the window survives a failover.
 *
 * Needs the `redis-server` and `redis-cli` binaries; without them the tests skip loudly, unless
 * REQUIRE_REDIS=1 (CI), which makes their absence an error.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { createRedis } from '../src/redis/client.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { testPrefix } from './helpers/redis.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';

const hasBinaries = ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
if (!hasBinaries) {
  const msg = 'redis-server / redis-cli are not installed: the Redis Cluster and Sentinel tests are SKIPPED';
  if (process.env.REQUIRE_REDIS === '1') throw new Error(`${msg}, but REQUIRE_REDIS=1 requires them`);
  console.warn(`\n!!! ${msg}. Install redis-server, or set REQUIRE_REDIS=1 to make this an error. !!!\n`);
}

const USER = '{ user(id: "1") { name } }';
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'gw-redis-topo-'));
let demo: FixtureUpstreams;

/** A free port whose cluster-bus port (+10000) is free too. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if ((await canBind(port)) && (await canBind(port + 10000))) return port;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function redisServer(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  children.push(child);
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => {}); // refused while the server starts
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if (probe.status !== 'ready') await probe.connect();
        if ((await probe.ping()) === 'PONG') return child;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on ${port} did not start`);
  } finally {
    probe.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Three gateways sharing one Redis topology and one window (global or per client) of `points`. */
async function fleet(redis: Record<string, unknown>, window: 'global' | 'perClient', points: number): Promise<TestGateway[]> {
  return Promise.all(
    [0, 1, 2].map(() =>
      startTestGateway({
        demo,
        configure(c) {
          c.redis = redis;
          c.rateLimit = { [window]: { points, durationSec: 60 }, failOpen: false };
        },
      }),
    ),
  );
}

async function hammer(gws: TestGateway[], total: number): Promise<number[]> {
  return Promise.all(Array.from({ length: total }, (_, i) => gws[i % gws.length]!.gql(USER).then((r) => r.status)));
}

beforeAll(async () => {
  demo = await startFixtureUpstreams();
});
afterAll(async () => {
  await demo?.close();
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasBinaries)('Redis Cluster', () => {
  let nodes: string[] = [];
  beforeAll(async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    await Promise.all(ports.map((p) => redisServer(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`, '--cluster-node-timeout', '2000'], p)));
    nodes = ports.map((p) => `127.0.0.1:${p}`);
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    // Every node must agree, not only the first: on a loaded machine gossip takes a while, and a
    // node that still says CLUSTERDOWN fails the commands routed to it.
    await until('cluster_state:ok on every node', async () =>
      ports.every((p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok')),
    );
  }, 60_000);

  it('three gateways keep one global limit through the cluster, whose counter lives on the slot owner', async () => {
    const prefix = testPrefix('topo-cluster');
    const gws = await fleet({ cluster: nodes, keyPrefix: prefix }, 'global', 12);
    try {
      const statuses = await hammer(gws, 24);
      expect(statuses.filter((s) => s === 200)).toHaveLength(12);
      expect(statuses.filter((s) => s === 429)).toHaveLength(12);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
    // The counter lives in the cluster, written through the gateway's own client factory.
    const client = createRedis({ cluster: nodes, keyPrefix: prefix });
    try {
      await until('cluster client ready', async () => client.status === 'ready');
      const keys: string[] = [];
      for (const node of (client as import('ioredis').Cluster).nodes('master')) keys.push(...(await node.keys(`${prefix}*`)));
      expect(keys).toEqual([`${prefix}rl:global:all`]);
      expect(Number(await client.get(keys[0]!))).toBeGreaterThanOrEqual(12);
    } finally {
      client.disconnect();
    }
  }, 30_000);

  it('shares the response cache through the cluster: an entry one gateway stored is a hit on another', async () => {
    const prefix = testPrefix('topo-cache');
    const route = { name: 'users-api', match: { pathPrefix: '/users', methods: ['GET'] }, upstream: 'users', cache: { ttlSec: 30 } };
    const [a, b] = await Promise.all(
      [0, 1].map(() => startTestGateway({ demo, configure: (c) => ((c.redis = { cluster: nodes, keyPrefix: prefix }), (c.routes = [route])) })),
    );
    try {
      // The cache's cluster client connects in the background (writes before that are dropped):
      // warm both gateways up on another path until each has a working connection.
      for (const gw of [a!, b!]) {
        await until('cache connected', async () => (await fetch(`${gw.url}/users/9`)).headers.get('x-cache') === 'HIT');
      }
      demo.users.recorder.reset();
      // Both instances behind one load balancer see one Host (the Host is part of the cache key).
      const host = { host: 'users.example.test' };
      const first = await request(`${a!.url}/users/5`, { headers: host });
      expect(first.headers['x-cache']).toBe('MISS');
      const body = await first.body.text();
      // The store writes in the background: wait until the entry is in the cluster.
      const client = createRedis({ cluster: nodes, keyPrefix: prefix }) as import('ioredis').Cluster;
      try {
        await until('entry stored in the cluster', async () => {
          if (client.status !== 'ready') return false;
          const found = await Promise.all(client.nodes('master').map((n) => n.keys(`${prefix}rc:*`)));
          // Two warm-up entries (one per gateway: their Hosts differ) and the one for /users/5.
          return found.flat().length === 3;
        });
      } finally {
        client.disconnect();
      }
      const second = await request(`${b!.url}/users/5`, { headers: host });
      expect(second.headers['x-cache']).toBe('HIT');
      expect(await second.body.text()).toBe(body);
      expect(demo.users.recorder.callsTo('/users/5')).toHaveLength(1);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  }, 30_000);
});

describe.skipIf(!hasBinaries)('Redis Sentinel', () => {
  let primaryPort = 0;
  let replicaPort = 0;
  let sentinelPort = 0;
  let primary: ChildProcess;
  beforeAll(async () => {
    primaryPort = await freePort();
    replicaPort = await freePort();
    sentinelPort = await freePort();
    primary = await redisServer([], primaryPort);
    await redisServer(['--replicaof', '127.0.0.1', String(primaryPort)], replicaPort);
    const conf = join(dir, `sentinel-${sentinelPort}.conf`);
    writeFileSync(
      conf,
      [
        `sentinel monitor gwprimary 127.0.0.1 ${primaryPort} 1`,
        'sentinel down-after-milliseconds gwprimary 1000',
        'sentinel failover-timeout gwprimary 5000',
        '',
      ].join('\n'),
    );
    await redisServer([conf, '--sentinel'], sentinelPort);
    await until('replica in sync', async () => {
      const info = spawnSync('redis-cli', ['-p', String(replicaPort), 'info', 'replication'], { encoding: 'utf8' }).stdout;
      return info.includes('master_link_status:up');
    });
  }, 60_000);

  it('three gateways share one window through the Sentinel-managed primary, which keeps it across a failover', async () => {
    const prefix = testPrefix('topo-sentinel');
    const redis = { sentinel: { name: 'gwprimary', nodes: [`127.0.0.1:${sentinelPort}`] }, keyPrefix: prefix };
    const gws = await fleet(redis, 'perClient', 10);
    try {
      const first = await hammer(gws, 6);
      expect(first.every((s) => s === 200)).toBe(true);
      // The window's counter reached the replica: a failover keeps it.
      await until('counter replicated', async () => {
        const v = spawnSync('redis-cli', ['-p', String(replicaPort), 'get', `${prefix}rl:perClient:127.0.0.1`], { encoding: 'utf8' }).stdout.trim();
        return v === '6';
      });
      primary.kill('SIGKILL');
      await until(
        'sentinel promoted the replica',
        async () => spawnSync('redis-cli', ['-p', String(sentinelPort), 'sentinel', 'get-master-addr-by-name', 'gwprimary'], { encoding: 'utf8' }).stdout.includes(String(replicaPort)),
        30_000,
      );
      // ioredis asks the sentinel again and follows the new primary; meanwhile limited requests get 503 (failOpen: false).
      // Every gateway, not only the first: one still reconnecting answers 503 to its share of the burst.
      for (const gw of gws) await until('gateway reaches the new primary', async () => (await gw.gql(USER)).status === 200, 20_000);
      const statuses = [...(await hammer(gws, 12))];
      // 6 before + 3 probes above + 1 more admitted: the window was not reset by the failover.
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 429)).toHaveLength(11);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
    }
  }, 60_000);
});
