/**
 * What one GraphQL upstream call costs the gateway's process: `HttpUpstream#json` against the
 * demo users upstream (in a process of its own), 32 calls in flight, measured apart from
 * everything else as the caller's CPU time per call (process.cpuUsage), median over rounds.
 * `--base DIR` runs the same calls through another checkout's src/ (e.g. a worktree of the
 * previous commit) in interleaved rounds, for a before/after on a shared machine.
 *
 *   node bin/tsx.js bench/json-call.ts [--base ../other-checkout] [--rounds 5] [--seconds 3]
 */
import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT, median, numberArg, spawnNode } from './harness.js';

if (process.argv.includes('--child')) {
  const root = process.argv[process.argv.indexOf('--child') + 1]!;
  const url = process.argv[process.argv.indexOf('--upstream') + 1]!;
  const { configSchema } = await import(pathToFileURL(resolve(root, 'src/config/schema.ts')).href);
  const { HttpUpstream } = await import(pathToFileURL(resolve(root, 'src/upstream/http/http-upstream.ts')).href);
  const config = configSchema.parse({ upstreams: { users: { targets: [{ url }] } } }).upstreams.users;
  const up = new HttpUpstream('users', config, []);
  const run = async (ms: number): Promise<{ calls: number; cpuUs: number }> => {
    const until = Date.now() + ms;
    let calls = 0;
    const cpu0 = process.cpuUsage();
    const worker = async (): Promise<void> => {
      while (Date.now() < until) {
        const user = (await up.json(undefined, 'GET', '/users/7')) as { id?: string } | null;
        if (user?.id !== '7') throw new Error(`unexpected answer ${JSON.stringify(user)}`);
        calls++;
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const used = process.cpuUsage(cpu0);
    return { calls, cpuUs: used.user + used.system };
  };
  process.on('message', (m: { ms: number }) => void run(m.ms).then((r) => process.send!(r)));
  process.send!({ ready: true });
} else {
  const rounds = numberArg('rounds', 5);
  const seconds = numberArg('seconds', 3);
  const baseArg = process.argv.indexOf('--base');
  const roots: Record<string, string> = { current: ROOT };
  if (baseArg !== -1) roots.base = resolve(process.argv[baseArg + 1]!);
  const up = await spawnNode(['bin/tsx.js', 'bench/upstreams-main.ts'], (l) => l.msg === 'demo upstreams listening', {}, true);
  const self = fileURLToPath(import.meta.url);
  const children = Object.fromEntries(
    await Promise.all(
      Object.entries(roots).map(async ([name, root]) => {
        const child = fork(self, ['--child', root, '--upstream', up.line.users as string], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        await new Promise((r) => child.once('message', r));
        const measure = (ms: number) => new Promise<{ calls: number; cpuUs: number }>((r) => { child.once('message', r); child.send({ ms }); });
        return [name, { child, measure }] as const;
      }),
    ),
  );
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(roots).map((k) => [k, []]));
  const names = Object.keys(roots);
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const c = children[name]!;
      await c.measure(500); // warm-up
      const { calls, cpuUs } = await c.measure(seconds * 1000);
      out[name]!.push(Math.round((cpuUs / calls) * 10) / 10);
    }
  }
  for (const [name, us] of Object.entries(out)) console.log(`${name.padEnd(8)} CPU ${median(us)} µs per call [${us.join(', ')}]`);
  for (const c of Object.values(children)) c.child.kill();
  await up.stop();
}
