/**
 * Runs the real `gateway` bin as a child process, the way an operator or a CI job does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/gateway.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` to completion with exactly `env` (default: this process's environment). */
export function runNode(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${stdout.slice(-2000)} stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `gateway ...args` to completion. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return runNode([BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, timeoutMs: opts.timeoutMs });
}

export interface CliGateway {
  child: ChildProcess;
  port: number;
  url: string;
  /** Every stdout line so far, parsed when JSON. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `gateway start ...args` and resolves once it printed its `listening` line. */
export function startCliGateway(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliGateway> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'start', ...args], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Array<Record<string, unknown>> = [];
    let buf = '';
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start listening; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const obj = JSON.parse(line) as Record<string, unknown>;
          lines.push(obj);
          if (obj.msg === 'listening') {
            clearTimeout(timer);
            const port = obj.port as number;
            resolve({
              child,
              port,
              url: `http://127.0.0.1:${port}`,
              lines,
              exited,
              stop(signal = 'SIGTERM') {
                child.kill(signal);
                return exited;
              },
            });
          }
        } catch {
          lines.push({ raw: line });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
}

/**
 * Runs `gateway ...args` inside this process (the same `main` the bin calls), for checks where a
 * fresh Node process would add only start-up time.
 */
export async function runCliInProcess(args: string[]): Promise<CliResult> {
  const { main } = await import('../../src/cli.js');
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => ({ write: (s: string | Uint8Array) => (append(String(s)), true) }) as unknown as NodeJS.WritableStream;
  const code = await main(args, { out: sink((s) => (stdout += s)), err: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

/**
 * Runs several `gateway` invocations at once, keyed by name: spawned, or in this process for
 * the keys in `inProcess`.
 */
export async function runCliAll(runs: Record<string, string[]>, inProcess: readonly string[] = []): Promise<Record<string, CliResult>> {
  const entries = await Promise.all(
    Object.entries(runs).map(async ([k, args]) => [k, await (inProcess.includes(k) ? runCliInProcess(args) : runCli(args, { timeoutMs: 60_000 }))] as const),
  );
  return Object.fromEntries(entries);
}
