/**
 * The benchmark is only fair if every peer answers the benchmark's requests with the gateway's
 * data and the same number of upstream calls; and its figures are only worth reading if the
 * harness measures, checks bodies and divides correctly. Both are checked here on real servers
 * (peers in child processes, as in `npm run bench`) with a tiny load.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, load, procStats, spawnNode, summarise, type Sample, type Spawned } from '../../bench/harness.js';
import { renderMarkdown, renderSvg, spliceReadme, RESULTS_END, RESULTS_START, type BenchReport } from '../../bench/report.js';
import { S1_QUERY, S2_QUERY, S3_PATH, S3_UPSTREAM_PATH, EXPECTED_CALLS, USER_IDS, gqlBody } from '../../bench/scenarios.js';
import { startShopGateway, type ShopGateway } from './shop-gateway.js';

const PEERS = ['mercurius', 'apollo', 'yoga'] as const;
let gw: ShopGateway;
const peers: Record<string, Spawned> = {};

const peerUrl = (name: string) => `http://127.0.0.1:${peers[name]!.line.port}`;

async function post(base: string, query: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: gqlBody(query) });
  return { status: res.status, json: await res.json() };
}

/** Upstream calls the demo recorded since the last reset, health probes left out. */
function calls(): { users: number; orders: number; catalog: number } {
  const n = (r: { calls: Array<{ path: string }> }) => r.calls.filter((c) => !/health/i.test(c.path)).length;
  return { users: n(gw.demo.users.recorder), orders: n(gw.demo.orders.recorder), catalog: n(gw.demo.catalog.recorder) };
}

beforeAll(async () => {
  gw = await startShopGateway({
    configure(raw) {
      raw.routes = [{ name: 'users-api', match: { pathPrefix: '/api/users', methods: ['GET'] }, upstream: 'users', rewrite: { stripPrefix: '/api' } }];
    },
  });
  const env = { USERS_URL: gw.demo.users.url, ORDERS_URL: gw.demo.orders.url, CATALOG_ADDR: gw.demo.catalog.address, PORT: '0' };
  const started = await Promise.all(
    [...PEERS, 'fastify-proxy'].map((p) => spawnNode(['bin/tsx.js', 'bench/peers/server.ts'], (l) => l.msg === 'listening', { ...env, PEER: p })),
  );
  [...PEERS, 'fastify-proxy'].forEach((p, i) => (peers[p] = started[i]!));
}, 40_000);

afterAll(async () => {
  await Promise.all(Object.values(peers).map((p) => p.stop()));
  await gw?.close();
});

describe('bench peers serve the same data as the gateway', () => {
  it('S1 and S2: every GraphQL peer returns exactly the gateway data', async () => {
    const ref1 = await post(gw.url, S1_QUERY);
    const ref2 = await post(gw.url, S2_QUERY);
    expect(ref1.json).toEqual({ data: { user: { id: '7', name: gw.demo.data.users.get('7')!.name } } });
    // The fan-out reference is not trivially empty: 20 users, two orders each, priced products.
    expect(ref2.json.errors).toBeUndefined();
    expect(ref2.json.data.users.map((u: { name: string }) => u.name)).toEqual(USER_IDS.map((id) => gw.demo.data.users.get(id)!.name));
    const firstItem = ref2.json.data.users[0].orders[0].items[0];
    expect(firstItem.product.name).toBeTruthy();
    expect(firstItem.product.price).toBeGreaterThan(0);
    for (const p of PEERS) {
      const [a, b] = await Promise.all([post(peerUrl(p), S1_QUERY), post(peerUrl(p), S2_QUERY)]);
      expect({ peer: p, status: a.status, body: a.json }).toEqual({ peer: p, status: 200, body: ref1.json });
      expect({ peer: p, status: b.status, body: b.json }).toEqual({ peer: p, status: 200, body: ref2.json });
    }
  });

  it('S2: the gateway and every peer make one call per upstream (batching)', async () => {
    const bases = { gateway: gw.url, ...Object.fromEntries(PEERS.map((p) => [p, peerUrl(p)])) };
    for (const [name, base] of Object.entries(bases)) {
      gw.demo.reset();
      expect((await post(base, S2_QUERY)).status).toBe(200);
      expect({ name, ...calls() }).toEqual({ name, users: 1, orders: 1, catalog: 1 });
    }
    gw.demo.reset();
    await post(gw.url, S1_QUERY);
    const c = calls();
    expect(c.users + c.orders + c.catalog).toBe(EXPECTED_CALLS.S1);
  });

  it('S3: the proxy peer, the gateway and the upstream itself return the same body', async () => {
    const direct = await fetch(`${gw.demo.users.url}${S3_UPSTREAM_PATH}`).then((r) => r.json());
    expect(direct).toMatchObject({ id: '7' });
    for (const base of [gw.url, peerUrl('fastify-proxy')]) {
      const res = await fetch(`${base}${S3_PATH}`);
      expect({ base, status: res.status, body: await res.json() }).toEqual({ base, status: 200, body: direct });
    }
  });
});

/** Hive Gateway has dependencies of its own (`npm --prefix bench/peers/hive ci`); CI does not install them. */
const HIVE_INSTALLED = existsSync(join(ROOT, 'bench/peers/hive/node_modules/@graphql-hive/gateway-runtime/package.json'));

describe.skipIf(!HIVE_INSTALLED)('bench peer Hive Gateway (installed in bench/peers/hive)', () => {
  let hive: Spawned;
  beforeAll(async () => {
    const env = { USERS_URL: gw.demo.users.url, ORDERS_URL: gw.demo.orders.url, CATALOG_ADDR: gw.demo.catalog.address, PORT: '0' };
    // It composes its supergraph (GraphQL Mesh) for these upstreams at start: seconds.
    hive = await spawnNode([join(ROOT, 'bench/peers/hive/server.mjs')], (l) => l.msg === 'listening', env, false, 60_000);
  }, 70_000);
  afterAll(async () => {
    await hive?.stop();
  });

  it('answers S1 and S2 with exactly the gateway data', async () => {
    const base = `http://127.0.0.1:${hive.line.port}`;
    for (const q of [S1_QUERY, S2_QUERY]) {
      const [ref, got] = await Promise.all([post(gw.url, q), post(base, q)]);
      expect(ref.json.errors).toBeUndefined();
      expect({ status: got.status, body: got.json }).toEqual({ status: 200, body: ref.json });
    }
  });

  it('S2: one users call, one orders call, two GetProducts (products and totals are batched apart)', async () => {
    gw.demo.reset();
    expect((await post(`http://127.0.0.1:${hive.line.port}`, S2_QUERY)).status).toBe(200);
    expect(calls()).toEqual({ users: 1, orders: 1, catalog: 2 });
  });
});

describe('bench harness', () => {
  it('measures a real short run, counts wrong bodies, and takes ratios round by round', async () => {
    const body = gqlBody(S1_QUERY);
    const headers = { 'content-type': 'application/json' };
    const expectBody = await fetch(`${gw.url}/graphql`, { method: 'POST', headers, body }).then((r) => r.text());
    const yogaExpect = await fetch(`${peerUrl('yoga')}/graphql`, { method: 'POST', headers, body }).then((r) => r.text());
    const pid = peers.yoga!.child.pid!;
    const before = procStats(pid);
    const [g, y] = [
      await load({ url: `${gw.url}/graphql`, method: 'POST', body, headers, expectBody, connections: 4, durationSec: 1 }),
      await load({ url: `${peerUrl('yoga')}/graphql`, method: 'POST', body, headers, expectBody: yogaExpect, connections: 4, durationSec: 1 }),
    ];
    const after = procStats(pid);
    for (const r of [g, y]) {
      expect(r.requests).toBeGreaterThan(10);
      expect(r.rps).toBeGreaterThan(0);
      expect(r.p99).toBeGreaterThanOrEqual(r.p50);
      expect(r.mismatches).toBe(0);
      expect(r.wrong).toBe(0);
    }
    // The peer's own process did the work: its CPU time grew, and its RSS is that of a Node server.
    expect(after.cpuUs).toBeGreaterThan(before.cpuUs);
    expect(after.peakRssMb).toBeGreaterThan(20);

    // A body that differs is counted, so the check under load can fail.
    const wrong = await load({ url: `${gw.url}/graphql`, method: 'POST', body, headers, expectBody: '{"data":null}', connections: 2, durationSec: 1 });
    expect(wrong.mismatches).toBeGreaterThan(0);
    expect(wrong.wrong).toBe(wrong.mismatches);

    const sample = (system: string, round: number, r: typeof g): Sample => ({ ...r, system, round, cpuUsPerReq: 1, peakRssMb: 1, upstreamCallsPerReq: 1 });
    // Round 2 repeats round 1 with the gateway halved: ratios are per round, the median in between.
    const samples = [sample('gateway', 1, g), sample('yoga', 1, y), sample('gateway', 2, { ...g, rps: Math.round(g.rps / 2) }), sample('yoga', 2, y)];
    const { systems, ratios } = summarise(samples);
    const r1 = Math.round((g.rps / y.rps) * 100) / 100;
    const r2 = Math.round((Math.round(g.rps / 2) / y.rps) * 100) / 100;
    expect(ratios).toHaveLength(1);
    expect(ratios[0]!.peer).toBe('yoga');
    expect(ratios[0]!.perRound).toEqual([r1, r2]);
    // The median of two rounds lies between them; the report rounds it to two decimals.
    expect(Math.abs(ratios[0]!.median - (r1 + r2) / 2)).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(systems.find((s) => s.system === 'yoga')!.rps).toBe(y.rps);

    const report: BenchReport = {
      date: '2026-01-01T00:00:00.000Z',
      machine: { cpu: 'test', cores: 2, memoryGb: 1, node: process.versions.node, os: 'linux', shared: true },
      method: { connections: 4, durationSec: 1, warmupSec: 0, rounds: 2, interleaved: true, smoke: true },
      scenarios: [{ id: 'S1', title: 'small query', lead: 'gateway', systems, ratios, skipped: [{ system: 'nginx', reason: 'absent' }], samples }],
    };
    const svg = renderSvg(report);
    expect(svg.match(/<g class="bar"/g)).toHaveLength(2);
    expect(svg).toContain(`${y.rps.toLocaleString('en-US')} req/s`);
    const md = renderMarkdown(report);
    expect(md).toContain(`vs yoga: **${ratios[0]!.median}×**`);
    expect(md).toContain('skipped nginx: absent');
    const readme = spliceReadme(`# x\n${RESULTS_START}\nold\n${RESULTS_END}\ntail\n`, 'new');
    expect(readme).toBe(`# x\n${RESULTS_START}\nnew\n${RESULTS_END}\ntail\n`);
  });
});
