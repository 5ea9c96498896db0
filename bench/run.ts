/**
 * The gateway against its peers, side by side on this machine (see bench/README.md):
 *
 *   npm run bench -- [--seconds 10] [--warmup 2] [--rounds 2] [--connections 50] [--only S1,S3]
 *   npm run bench -- --smoke      # one short round of everything (CI); writes to a temp dir
 *   npm run bench -- --as-shipped # the gateway as a user starts it: access log on (config defaults), stdout a drained pipe
 *   npm run bench -- --systems gateway,nginx --logging '{"bufferBytes":0}'   # a subset of systems; logging keys for the gateway
 *   npm run bench -- --install-hive   # first `npm --prefix bench/peers/hive ci`, so that Hive Gateway runs in S1/S2
 *
 * Every system runs in its own process; the demo upstreams run in one more. Rounds alternate
 * the systems (order rotated each round) so that slow drifts of a shared machine hit all alike.
 * Every response is compared with the gateway's body; mismatches are counted as bad.
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { cpus, totalmem, tmpdir, release } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SignJWT } from 'jose';
import { ROOT, freePort, load, unloadedLatency, procStats, spawnNode, stopChild, summarise, type Sample, type Spawned } from './harness.js';
import { renderMarkdown, renderSvg, spliceReadme, type BenchReport, type ScenarioReport } from './report.js';
import { S1_QUERY, S2_QUERY, S3_PATH, S3_UPSTREAM_PATH, gqlBody } from './scenarios.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? dflt : argv[i + 1]!;
};
const smoke = flag('smoke');
const seconds = Number(opt('seconds', smoke ? '1' : '10'));
const warmup = Number(opt('warmup', smoke ? '0' : '2'));
const rounds = Number(opt('rounds', smoke ? '1' : '2'));
const connections = Number(opt('connections', smoke ? '10' : '50'));
const only = opt('only', 'S1,S2,S3,S4,S5,S6').split(',');
/** Systems to run (names as in the tables); the gateway(s) always run, a peer not named is not started. */
const systemsOpt = opt('systems', '');
const wanted = (name: string) => !systemsOpt || name.startsWith('gateway') || systemsOpt.split(',').includes(name);
/** As shipped: the logging section is left to the config's defaults (access log on), as a user's plain config would. */
const asShipped = flag('as-shipped');
const loggingOverride = JSON.parse(opt('logging', '{}')) as Record<string, unknown>;
const outDir = opt('out', smoke ? mkdtempSync(join(tmpdir(), 'gw-bench-smoke-')) : join(ROOT, 'bench'));
const work = mkdtempSync(join(tmpdir(), 'gw-bench-'));
const SECRET = 'bench-secret-bench-secret-bench-secret!';

/** Hive Gateway (bench/peers/hive) has dependencies of its own, installed on demand, outside the project's lockfile. */
const HIVE_DIR = join(ROOT, 'bench/peers/hive');
const installHive = flag('install-hive');

const running: Spawned[] = [];
const log = (msg: string) => process.stderr.write(`${msg}\n`);

async function startGateway(name: string, extra: Record<string, unknown>, up: Record<string, string>): Promise<Spawned> {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, stringify({
    server: { port: 0, host: '127.0.0.1', drainMs: 1000 },
    logging: asShipped ? { ...loggingOverride } : { level: 'info', accessLog: false, ...loggingOverride },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: up.users }] },
      orders: { protocol: 'http', targets: [{ url: up.orders }] },
      catalog: { protocol: 'grpc', targets: [{ url: up.catalog }], idempotentMethods: ['GetProducts'] },
    },
    routes: [{ name: 'users-api', match: { pathPrefix: '/api/users', methods: ['GET'] }, upstream: 'users', rewrite: { stripPrefix: '/api' }, ...(extra.route as object) }],
    ...(extra.top as object),
  }));
  return spawnNode(['bin/gateway.js', 'start', '--config', file], (l) => l.msg === 'listening');
}

/**
 * Why Hive Gateway cannot run (its folder's dependencies are not installed), or undefined.
 * With --install-hive, installs them first from bench/peers/hive/package-lock.json.
 */
function hiveMissing(): string | undefined {
  if (installHive) {
    log('hive-gateway: npm --prefix bench/peers/hive ci …');
    try {
      execFileSync('npm', ['--prefix', HIVE_DIR, 'ci', '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (err) {
      const why = `npm --prefix bench/peers/hive ci failed: ${(err as Error).message.split('\n')[0]}`;
      log(`*** hive-gateway SKIPPED: ${why} ***`);
      return why;
    }
  }
  if (existsSync(join(HIVE_DIR, 'node_modules/@graphql-hive/gateway-runtime/package.json'))) return undefined;
  const why = 'not installed (npm --prefix bench/peers/hive ci, or npm run bench -- --install-hive)';
  log(`*** hive-gateway SKIPPED: ${why} ***`);
  return why;
}

/** A self-signed certificate for 127.0.0.1 (S6), made with the openssl CLI into the work folder. */
function selfSignedCertificate(): { cert: string; key: string } {
  const cert = join(work, 'tls-cert.pem');
  const key = join(work, 'tls-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

async function startNginx(usersUrl: string, tls?: { cert: string; key: string }): Promise<{ spawned: Spawned; port: number } | string> {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    return 'nginx is not installed (apt-get install -y nginx)';
  }
  const port = await freePort();
  const dir = join(work, tls ? 'nginx-tls' : 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const up = new URL(usersUrl);
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1;
daemon off;
master_process on;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream users { server ${up.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port}${tls ? ' ssl' : ''};${tls ? `
    ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:1m;` : ''}
    location /api/users/ {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://users/users/;
    }
    location = /ready { return 200 '{"msg":"listening"}\\n'; }
  }
}
`);
  // nginx prints nothing when it starts: poll its /ready location instead.
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const spawned: Spawned = { child, line: { port }, stop: () => stopChild(child) };
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) return `nginx exited with ${child.exitCode} (see its error log)`;
    try {
      const r = await fetch(`${tls ? 'https' : 'http'}://127.0.0.1:${port}/ready`);
      await r.arrayBuffer();
      if (r.ok) return { spawned, port };
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await spawned.stop();
  return 'nginx did not answer within 5 s';
}

interface System { name: string; pid: number; url: string; method: 'GET' | 'POST'; body?: string; headers?: Record<string, string>; expect?: string }
interface Scenario { id: string; title: string; lead: string; systems: System[]; skipped: Array<{ system: string; reason: string }> }

async function callsNow(up: Spawned): Promise<number> {
  return new Promise((resolve) => {
    const onMsg = (m: { type?: string; counts?: Record<string, number> }) => {
      if (m?.type !== 'counts') return;
      up.child.off('message', onMsg);
      resolve(Object.values(m.counts!).reduce((a, b) => a + b, 0));
    };
    up.child.on('message', onMsg);
    up.child.send!({ type: 'counts' });
  });
}

async function fetchBody(s: System): Promise<{ status: number; text: string }> {
  const r = await fetch(s.url, { method: s.method, body: s.body, headers: s.headers });
  return { status: r.status, text: await r.text() };
}

async function main(): Promise<void> {
  log(`bench: ${smoke ? 'smoke, ' : ''}${connections} connections, ${seconds} s per run, ${warmup} s warm-up, ${rounds} round(s); output in ${outDir}`);
  const upstreams = await spawnNode(['bin/tsx.js', 'bench/upstreams-main.ts'], (l) => l.msg === 'demo upstreams listening', {}, true);
  running.push(upstreams);
  const up = { users: upstreams.line.users as string, orders: upstreams.line.orders as string, catalog: upstreams.line.catalog as string };
  const peerEnv = { USERS_URL: up.users, ORDERS_URL: up.orders, CATALOG_ADDR: up.catalog, PORT: '0' };
  const peer = (name: string) => spawnNode(['bin/tsx.js', 'bench/peers/server.ts'], (l) => l.msg === 'listening', { ...peerEnv, PEER: name });

  const wantGql = only.some((s) => s === 'S1' || s === 'S2');
  const wantProxy = only.includes('S3');
  const wantAuth = only.includes('S4') || only.includes('S5');
  const token = await new SignJWT({ roles: ['customer'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('7').setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
  // A system that cannot start is reported as skipped, with the line of its output that says why.
  const settle = async <T,>(p: Promise<T>): Promise<T | string> =>
    p.catch((e: Error) => {
      const lines = e.message.split('\n');
      const why = lines.find((l) => /not implemented/i.test(l)) ?? lines.find((l) => /invalid|error/i.test(l) && !l.includes('exited with')) ?? lines[0]!;
      return `did not start: ${why.trim().slice(0, 200)}`;
    });
  const [gateway, mercurius, apollo, yoga, hive, fproxy, authGw] = await Promise.all([
    startGateway('gateway', {}, up),
    wantGql && wanted('mercurius+jit') ? settle(peer('mercurius')) : 'not selected',
    wantGql && wanted('apollo') ? settle(peer('apollo')) : 'not selected',
    wantGql && wanted('yoga') ? settle(peer('yoga')) : 'not selected',
    // It composes its supergraph (GraphQL Mesh) for this run's upstream addresses at start: seconds, hence the longer wait.
    wantGql && wanted('hive-gateway')
      ? (hiveMissing() ?? settle(spawnNode([join(HIVE_DIR, 'server.mjs')], (l) => l.msg === 'listening', peerEnv, false, 90_000)))
      : 'not selected',
    wantProxy && wanted('@fastify/http-proxy') ? settle(peer('fastify-proxy')) : 'not selected',
    wantAuth
      ? settle(startGateway('gateway-auth', {
          top: { auth: { jwt: { algorithms: ['HS256'], secret: SECRET } }, rateLimit: { perClient: { points: 1_000_000_000, durationSec: 60 } } },
          route: { auth: 'jwt', rateLimit: { points: 1_000_000_000, durationSec: 60 } },
        }, up))
      : 'not selected',
  ]);
  running.push(gateway);
  for (const s of [mercurius, apollo, yoga, hive, fproxy, authGw]) if (typeof s !== 'string') running.push(s);
  const nginx = wantProxy && wanted('nginx') ? await startNginx(up.users) : 'not selected';
  if (typeof nginx !== 'string') running.push(nginx.spawned);
  // S6: both ends of the comparison terminate TLS (HTTP/1.1, keep-alive: the handshake is paid once per connection).
  const wantTls = only.includes('S6');
  let tlsGw: Spawned | string = 'not selected';
  let tlsNginx: { spawned: Spawned; port: number } | string = 'not selected';
  if (wantTls) {
    const tls = selfSignedCertificate();
    // The harness's clients (autocannon, fetch) talk to a certificate made a moment ago for this run only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    tlsGw = await settle(startGateway('gateway-tls', { top: { server: { port: 0, host: '127.0.0.1', drainMs: 1000, tls: { ...tls, http2: false } } } }, up));
    tlsNginx = wanted('nginx (TLS)') ? await startNginx(up.users, tls) : 'not selected';
    for (const s of [tlsGw, tlsNginx]) if (typeof s !== 'string') running.push('spawned' in s ? s.spawned : s);
  }

  const base = (s: Spawned) => `http://127.0.0.1:${s.line.port}`;
  const gql = (name: string, s: Spawned | string, query: string, headers: Record<string, string> = {}): System | string =>
    typeof s === 'string' ? s : { name, pid: s.child.pid!, url: `${base(s)}/graphql`, method: 'POST', body: gqlBody(query), headers: { 'content-type': 'application/json', ...headers } };
  const get = (name: string, s: Spawned | string, url: (b: string) => string, headers: Record<string, string> = {}): System | string =>
    typeof s === 'string' ? s : { name, pid: s.child.pid!, url: url(base(s)), method: 'GET', headers };
  const auth = { authorization: `Bearer ${token}` };
  const AUTH_NAME = 'gateway+jwt+limit';

  const defs: Array<{ id: string; title: string; lead: string; entries: Array<[string, System | string]> }> = [
    { id: 'S1', title: 'small query user(id) { id name }', lead: 'gateway', entries: [
      ['gateway', gql('gateway', gateway, S1_QUERY)], ['mercurius+jit', gql('mercurius+jit', mercurius, S1_QUERY)],
      ['apollo', gql('apollo', apollo, S1_QUERY)], ['yoga', gql('yoga', yoga, S1_QUERY)], ['hive-gateway', gql('hive-gateway', hive, S1_QUERY)]] },
    { id: 'S2', title: 'fan-out: 20 users, orders, products (3 upstream calls)', lead: 'gateway', entries: [
      ['gateway', gql('gateway', gateway, S2_QUERY)], ['mercurius+jit', gql('mercurius+jit', mercurius, S2_QUERY)],
      ['apollo', gql('apollo', apollo, S2_QUERY)], ['yoga', gql('yoga', yoga, S2_QUERY)], ['hive-gateway', gql('hive-gateway', hive, S2_QUERY)]] },
    { id: 'S3', title: `passthrough GET ${S3_PATH}`, lead: 'gateway', entries: [
      ['gateway', get('gateway', gateway, (b) => `${b}${S3_PATH}`)],
      ['@fastify/http-proxy', get('@fastify/http-proxy', fproxy, (b) => `${b}${S3_PATH}`)],
      ['nginx', typeof nginx === 'string' ? nginx : { name: 'nginx', pid: nginx.spawned.child.pid!, url: `http://127.0.0.1:${nginx.port}${S3_PATH}`, method: 'GET' }],
      ['direct', { name: 'direct', pid: upstreams.child.pid!, url: `${up.users}${S3_UPSTREAM_PATH}`, method: 'GET' }]] },
    { id: 'S6', title: `passthrough GET ${S3_PATH} over TLS`, lead: 'gateway (TLS)', entries: [
      ['gateway (TLS)', typeof tlsGw === 'string' ? tlsGw : { name: 'gateway (TLS)', pid: tlsGw.child.pid!, url: `https://127.0.0.1:${tlsGw.line.port}${S3_PATH}`, method: 'GET' }],
      ['nginx (TLS)', typeof tlsNginx === 'string' ? tlsNginx : { name: 'nginx (TLS)', pid: tlsNginx.spawned.child.pid!, url: `https://127.0.0.1:${tlsNginx.port}${S3_PATH}`, method: 'GET' }]] },
    { id: 'S4', title: 'S3 with a JWT route and a per-client limit', lead: AUTH_NAME, entries: [
      [AUTH_NAME, get(AUTH_NAME, authGw, (b) => `${b}${S3_PATH}`, auth)], ['gateway', get('gateway', gateway, (b) => `${b}${S3_PATH}`)]] },
    { id: 'S5', title: 'S2 with a JWT and a per-client limit', lead: AUTH_NAME, entries: [
      [AUTH_NAME, gql(AUTH_NAME, authGw, S2_QUERY, auth)], ['gateway', gql('gateway', gateway, S2_QUERY)]] },
  ];
  const scenarios: Scenario[] = [];
  for (const d of defs.filter((x) => only.includes(x.id))) {
    const sc: Scenario = { id: d.id, title: d.title, lead: d.lead, systems: [], skipped: [] };
    for (const [name, s] of d.entries) {
      if (!wanted(name)) continue;
      if (typeof s === 'string') sc.skipped.push({ system: name, reason: s });
      else sc.systems.push(s);
    }
    // The lead's answer is the reference; a system that answers differently is not compared.
    const lead = sc.systems.find((s) => s.name === d.lead);
    if (!lead) {
      log(`${d.id}: skipped (${sc.skipped.find((k) => k.system === d.lead)?.reason})`);
      scenarios.push({ ...sc, systems: [] });
      continue;
    }
    const ref = await fetchBody(lead);
    if (ref.status !== 200) throw new Error(`${d.id}: ${lead.name} answered ${ref.status}: ${ref.text.slice(0, 300)}`);
    const refJson = JSON.stringify(JSON.parse(ref.text));
    for (const s of [...sc.systems]) {
      const got = await fetchBody(s);
      let same = false;
      try {
        same = got.status === 200 && JSON.stringify(JSON.parse(got.text)) === refJson;
      } catch {
        // not JSON
      }
      // Same data, byte for byte after parsing; under load each system must repeat its own bytes.
      if (same) s.expect = got.text;
      else {
        sc.systems = sc.systems.filter((x) => x !== s);
        sc.skipped.push({ system: s.name, reason: `answers differently from ${lead.name} (${got.status}: ${got.text.slice(0, 120)})` });
      }
    }
    for (const k of sc.skipped) log(`${d.id}: skipping ${k.system}: ${k.reason}`);
    scenarios.push(sc);
  }

  const samples = new Map<string, Sample[]>(scenarios.map((s) => [s.id, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const sc of scenarios) {
      const n = sc.systems.length;
      for (let k = 0; k < n; k++) {
        const s = sc.systems[(k + round - 1) % n]!; // rotate the order each round
        const spec = { url: s.url, method: s.method, body: s.body, headers: s.headers, expectBody: s.expect, connections };
        if (warmup > 0) await load({ ...spec, durationSec: warmup });
        const before = procStats(s.pid);
        const callsBefore = await callsNow(upstreams);
        const r = await load({ ...spec, durationSec: seconds });
        const callsAfter = await callsNow(upstreams);
        const after = procStats(s.pid);
        const sample: Sample = {
          ...r,
          system: s.name,
          round,
          cpuUsPerReq: r.requests ? Math.round((after.cpuUs - before.cpuUs) / r.requests) : 0,
          peakRssMb: after.peakRssMb,
          upstreamCallsPerReq: r.requests ? Math.round(((callsAfter - callsBefore) / r.requests) * 100) / 100 : null,
        };
        samples.get(sc.id)!.push(sample);
        log(`round ${round} ${sc.id} ${s.name.padEnd(20)} ${String(r.rps).padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  cpu ${sample.cpuUsPerReq} µs/req  writes/req ${r.requests ? ((after.writeCalls - before.writeCalls) / r.requests).toFixed(2) : '-'}  calls/req ${sample.upstreamCallsPerReq}  bad ${r.bad}`);
      }
    }
  }

  // Passthrough latency without load, where a sub-millisecond difference is visible.
  const unloaded = new Map<string, ScenarioReport['unloaded']>();
  for (const sc of scenarios.filter((x) => x.id === 'S3')) {
    const out = await unloadedLatency(sc.systems, smoke ? 200 : 2000);
    unloaded.set(sc.id, out);
    log(`S3 without load (µs p50/p99): ${out.map((q) => `${q.system} ${q.p50Us}/${q.p99Us}`).join(', ')}`);
  }

  const reports: ScenarioReport[] = scenarios.map((sc) => {
    const { systems, ratios } = summarise(samples.get(sc.id)!, sc.lead);
    return { id: sc.id, title: sc.title, lead: sc.lead, systems, ratios, skipped: sc.skipped, samples: samples.get(sc.id)!, unloaded: unloaded.get(sc.id) };
  });
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.versions.node, os: `${process.platform} ${release()}`, shared: process.env.BENCH_SHARED !== '0',
    },
    method: { connections, durationSec: seconds, warmupSec: warmup, rounds, interleaved: true, smoke, asShipped },
    scenarios: reports,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'chart.svg'), renderSvg(report));
  const table = renderMarkdown(report);
  const readme = join(outDir, 'README.md');
  if (!smoke && existsSync(readme)) writeFileSync(readme, spliceReadme(readFileSync(readme, 'utf8'), table));
  process.stdout.write(`${table}\n`);
  // Wrong answers (non-2xx, other body) fail the smoke run; socket errors on a busy machine do not.
  const wrong = reports.flatMap((r) => r.samples).filter((s) => s.wrong > 0);
  if (smoke && wrong.length) {
    log(`bench smoke: wrong responses from ${wrong.map((b) => b.system).join(', ')}`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (err) {
  log(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await Promise.all(running.map((s) => s.stop()));
}
