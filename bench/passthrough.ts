/**
 * Passthrough throughput and latency: the gateway against the upstream called directly,
 * @fastify/http-proxy and nginx, each in its own process, all proxying
 * `GET /api/users/1` → `GET /users/1` on the demo users upstream. autocannon runs as its own
 * process too, so no contender shares an event loop with the load generator.
 *
 *   node bin/tsx.js bench/passthrough.ts [--seconds 5] [--connections 50]
 *
 * nginx is optional (skipped when not on PATH). Figures go to stdout as a Markdown table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const seconds = arg('seconds', 5);
const connections = arg('connections', 50);
const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'gw-bench-'));
const children: ChildProcess[] = [];

const PORTS = { upstream: 17001, gateway: 17100, fastify: 17101, nginx: 17102 };

function start(cmd: string, args: string[], env: Record<string, string> = {}, ready = /listening/): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')} did not start: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}

interface Result { rps: number; p50: number; p99: number; errors: number }

function cannon(url: string, duration = seconds): Result {
  const out = execFileSync(join(root, 'node_modules/.bin/autocannon'), ['--json', '-c', String(connections), '-d', String(duration), url], { maxBuffer: 64 << 20 });
  const r = JSON.parse(out.toString()) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

function nginxConf(): string {
  const dir = join(work, 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream users { server 127.0.0.1:${PORTS.upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${PORTS.nginx};
    location /api/users/ {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://users/users/;
    }
  }
}`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  return file;
}

function hasNginx(): boolean {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

try {
  await start('node', ['bin/tsx.js', 'upstreams/demo/main.ts'], { USERS_PORT: String(PORTS.upstream), ORDERS_PORT: '17002', CATALOG_PORT: '17003' });
  const cfg = join(work, 'gateway.yaml');
  writeFileSync(cfg, `server: { port: ${PORTS.gateway}, host: 127.0.0.1 }
logging: { level: info, accessLog: false }
upstreams:
  users: { protocol: http, targets: [ { url: "http://127.0.0.1:${PORTS.upstream}" } ] }
  orders: { protocol: http, targets: [ { url: "http://127.0.0.1:17002" } ] }
  catalog: { protocol: grpc, targets: [ { url: "127.0.0.1:17003" } ] }
routes:
  - name: users-api
    match: { pathPrefix: /api/users }
    upstream: users
    rewrite: { stripPrefix: /api }
`);
  await start('node', ['bin/gateway.js', 'start', '--config', cfg]);
  await start('node', ['bin/tsx.js', 'bench/passthrough-fastify.ts'], { PORT: String(PORTS.fastify), UPSTREAM: `http://127.0.0.1:${PORTS.upstream}` });
  const nginx = hasNginx();
  if (nginx) {
    const child = spawn('nginx', ['-c', nginxConf()], { stdio: 'ignore' });
    children.push(child);
  }
  const contenders: Array<[string, string]> = [
    ['upstream direct', `http://127.0.0.1:${PORTS.upstream}/users/1`],
    ['gateway', `http://127.0.0.1:${PORTS.gateway}/api/users/1`],
    ['@fastify/http-proxy', `http://127.0.0.1:${PORTS.fastify}/api/users/1`],
  ];
  if (nginx) contenders.push(['nginx', `http://127.0.0.1:${PORTS.nginx}/api/users/1`]);
  for (const [, url] of contenders) await waitFor(url);
  console.log(`\n${connections} connections, ${seconds} s each, GET /api/users/1 → /users/1\n`);
  console.log('| contender | req/s | p50 ms | p99 ms | errors |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, url] of contenders) {
    cannon(url, 1); // warm-up, discarded
    const r = cannon(url);
    console.log(`| ${name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
}
