/**
 * Before/after of one change, as CPU per request of the gateway process: two checkouts (this one
 * and `--base DIR`, e.g. a worktree of the previous commit, each built with `npm run build`)
 * serve the same scenario against the same demo upstreams, in interleaved rounds. On a shared
 * machine req/s moves with everyone else's load; CPU time per request (from /proc) much less.
 *
 *   node bin/tsx.js bench/ab.ts --base ../before [--scenario S1|S2|S3] [--rounds 5] [--seconds 5] [--connections 32]
 *
 * `--patch JSON` merges into the current side's config only (e.g. `--base . --patch
 * '{"upstreams":{"users":{"pipelining":4}}}'` compares a setting on one checkout); `--patch-both
 * JSON` into both sides' (e.g. the access log on, to compare two checkouts as shipped).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, load, median, numberArg, procStats, spawnNode, type Spawned } from './harness.js';
import { S1_QUERY, S2_QUERY, S3_PATH, gqlBody } from './scenarios.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1]!;
};
const baseDir = arg('base', '');
if (!baseDir) throw new Error('--base DIR (another checkout, built) is required');
const scenario = arg('scenario', 'S1');
const rounds = numberArg('rounds', 5);
const seconds = numberArg('seconds', 5);
const connections = numberArg('connections', 32);

const up = await spawnNode(['bin/tsx.js', 'bench/upstreams-main.ts'], (l) => l.msg === 'demo upstreams listening', {}, true);
const work = mkdtempSync(join(tmpdir(), 'gw-ab-'));
const file = join(work, 'gateway.yaml');
const patch = JSON.parse(arg('patch', '{}')) as Record<string, unknown>;
const patchBoth = JSON.parse(arg('patch-both', '{}')) as Record<string, unknown>;

/** Merges `extra` into `into`, objects key by key, anything else replaced. */
function merge(into: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(extra)) {
    const cur = into[k];
    into[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? merge({ ...(cur as Record<string, unknown>) }, v as Record<string, unknown>) : v;
  }
  return into;
}

const config = {
  server: { port: 0, host: '127.0.0.1', drainMs: 1000 },
  logging: { level: 'info', accessLog: false },
  upstreams: {
    users: { protocol: 'http', targets: [{ url: up.line.users }] },
    orders: { protocol: 'http', targets: [{ url: up.line.orders }] },
    catalog: { protocol: 'grpc', targets: [{ url: up.line.catalog }], idempotentMethods: ['GetProducts'] },
  },
  routes: [{ name: 'users-api', match: { pathPrefix: '/api/users', methods: ['GET'] }, upstream: 'users', rewrite: { stripPrefix: '/api' } }],
};
merge(config, patchBoth);
writeFileSync(file, stringify(config));
const patchedFile = join(work, 'gateway-current.yaml');
writeFileSync(patchedFile, stringify(merge(structuredClone(config) as Record<string, unknown>, patch)));

async function start(root: string, configFile: string): Promise<Spawned> {
  return spawnNode([join(root, 'bin/gateway.js'), 'start', '--config', configFile], (l) => l.msg === 'listening', { NODE_ENV: 'production' });
}
const systems: Record<string, Spawned> = { base: await start(resolve(baseDir), file), current: await start(ROOT, patchedFile) };
const target = (s: Spawned) => {
  const url = `http://127.0.0.1:${s.line.port}`;
  return scenario === 'S3'
    ? { url: `${url}${S3_PATH}` }
    : { url: `${url}/graphql`, method: 'POST' as const, body: gqlBody(scenario === 'S2' ? S2_QUERY : S1_QUERY), headers: { 'content-type': 'application/json' } };
};
const out: Record<string, { us: number[]; rps: number[] }> = { base: { us: [], rps: [] }, current: { us: [], rps: [] } };
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 ? ['current', 'base'] : ['base', 'current']) {
    const s = systems[name]!;
    await load({ ...target(s), connections, durationSec: 1 });
    const before = procStats(s.child.pid!).cpuUs;
    const res = await load({ ...target(s), connections, durationSec: seconds });
    const used = procStats(s.child.pid!).cpuUs - before;
    if (res.bad) console.log(`${name}: ${res.bad} bad responses`);
    out[name]!.us.push(Math.round((used / res.requests) * 10) / 10);
    out[name]!.rps.push(res.rps);
  }
}
for (const [name, v] of Object.entries(out)) console.log(`${scenario} ${name.padEnd(8)} CPU ${median(v.us)} µs/req [${v.us.join(', ')}], ${median(v.rps)} req/s [${v.rps.join(', ')}]`);
for (const s of Object.values(systems)) await s.stop();
await up.stop();
