/**
 * Whether undici's `dispatch` with a handler saves the passthrough work against `request` plus
 * stream piping, measured apart from the gateway (issue 23): a bare node:http proxy in a child
 * process forwards GET /users/7 to the demo users upstream (another process) over one undici Pool,
 * either way, streaming with backpressure both ways. autocannon runs here; the figure that counts
 * on a shared machine is the proxy process's CPU time per request (process.cpuUsage, sent back
 * over IPC), median over interleaved rounds.
 *
 *   node bin/tsx.js bench/dispatch-vs-request.ts [--rounds 5] [--seconds 4] [--connections 32]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { load, median, numberArg, spawnNode } from './harness.js';

if (process.argv.includes('--proxy')) {
  const mode = process.argv[process.argv.indexOf('--proxy') + 1];
  const upstream = process.argv[process.argv.indexOf('--upstream') + 1]!;
  const pool = new Pool(upstream, { connections: 64 });
  const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);
  const copy = (h: Record<string, string | string[] | undefined>) => {
    const out: Record<string, string | string[]> = {};
    for (const k in h) if (!HOP.has(k) && h[k] !== undefined) out[k] = h[k]!;
    return out;
  };
  /** A handler per request, as dispatch needs one; it writes straight to the client's response. */
  class Forward implements Dispatcher.DispatchHandler {
    constructor(private readonly res: ServerResponse) {}
    onRequestStart(controller: Dispatcher.DispatchController): void {
      // A client that leaves ends the upstream exchange too (else a paused one holds its connection forever).
      this.res.once('close', () => {
        if (!this.res.writableFinished) controller.abort(new Error('client closed'));
      });
    }
    onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
      this.res.writeHead(status, copy(headers));
      this.res.on('drain', () => controller.resume());
    }
    onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
      if (!this.res.write(chunk)) controller.pause();
    }
    onResponseEnd(): void {
      this.res.end();
    }
    onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
      if (!this.res.headersSent) this.res.writeHead(502).end(String(err));
      else this.res.destroy(err);
    }
  }
  const server = createServer((req, res) => {
    const opts = { method: 'GET' as const, path: req.url!.replace('/api', ''), headers: copy(req.headers) };
    if (mode === 'dispatch') {
      pool.dispatch(opts, new Forward(res));
      return;
    }
    pool.request(opts).then(
      (r) => {
        res.writeHead(r.statusCode, copy(r.headers));
        r.body.pipe(res);
      },
      (err: Error) => res.writeHead(502).end(String(err)),
    );
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: string) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuUs: u.user + u.system });
    }
  });
} else {
  const rounds = numberArg('rounds', 5);
  const seconds = numberArg('seconds', 4);
  const connections = numberArg('connections', 32);
  const up = await spawnNode(['bin/tsx.js', 'bench/upstreams-main.ts'], (l) => l.msg === 'demo upstreams listening', {}, true);
  const self = fileURLToPath(import.meta.url);
  const start = async (mode: string) => {
    const child = fork(self, ['--proxy', mode, '--upstream', up.line.users as string], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
    const cpu = () => new Promise<number>((r) => { child.once('message', (m: { cpuUs: number }) => r(m.cpuUs)); child.send('cpu'); });
    return { child, url: `http://127.0.0.1:${port}/api/users/7`, cpu };
  };
  const proxies = { request: await start('request'), dispatch: await start('dispatch') };
  const out: Record<string, { rps: number[]; us: number[] }> = { request: { rps: [], us: [] }, dispatch: { rps: [], us: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const mode of (r % 2 ? ['dispatch', 'request'] : ['request', 'dispatch']) as Array<keyof typeof proxies>) {
      const p = proxies[mode];
      await load({ url: p.url, connections, durationSec: 1 });
      const before = await p.cpu();
      const res = await load({ url: p.url, connections, durationSec: seconds });
      const used = (await p.cpu()) - before;
      out[mode]!.rps.push(res.rps);
      out[mode]!.us.push(Math.round((used / res.requests) * 10) / 10);
      if (res.bad) console.log(`${mode}: ${res.bad} bad responses`);
    }
  }
  for (const [mode, v] of Object.entries(out)) console.log(`${mode.padEnd(8)} CPU ${median(v.us)} µs/req [${v.us.join(', ')}], ${median(v.rps)} req/s [${v.rps.join(', ')}]`);
  for (const p of Object.values(proxies)) p.child.kill();
  await up.stop();
}
