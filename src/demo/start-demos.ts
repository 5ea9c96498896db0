/**
 * Starts the demo server of every configured upstream that has one (`upstreams/<name>/demo.ts`
 * or `.js`) and reports where each answers, so the config's targets can be pointed at them.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadModule } from '../load-module.js';
import { isDemoModule, type DemoServer } from './define-demo.js';

/** Upstream name → demo target (http URL, or host:port for gRPC). */
export type DemoTargets = Record<string, string>;

export interface RunningDemos {
  targets: DemoTargets;
  close(): Promise<void>;
}

export interface StartDemosOptions {
  /** The domain's upstreams folder. */
  upstreamsDir: string;
  /** Configured upstream names; only these are started. */
  names: string[];
  host?: string;
  /** Fixed ports by upstream name (default: ephemeral). */
  ports?: Record<string, number>;
  /** Paths in errors are shown relative to this folder. */
  root?: string;
}

/** Finds `<upstreamsDir>/<name>/demo.{ts,js}` (compiled output preferred when both exist beside each other). */
export function findDemoFile(upstreamsDir: string, name: string): string | undefined {
  for (const ext of ['.js', '.ts']) {
    const file = join(upstreamsDir, name, `demo${ext}`);
    if (existsSync(file)) return file;
  }
  return undefined;
}

export async function startDemos(opts: StartDemosOptions): Promise<RunningDemos> {
  const shared = new Map<string, unknown>();
  const started: Array<[string, DemoServer]> = [];
  const closeAll = () => Promise.all(started.map(([, d]) => d.close())).then(() => undefined);
  try {
    for (const name of opts.names) {
      const file = findDemoFile(opts.upstreamsDir, name);
      if (!file) continue;
      const mod = (await loadModule(file)).default;
      if (!isDemoModule(mod)) {
        throw new Error(`${relative(opts.root ?? process.cwd(), file)}: default export must be defineDemo({ start })`);
      }
      started.push([name, await mod.start({ port: opts.ports?.[name] ?? 0, host: opts.host ?? '127.0.0.1', shared })]);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { targets: Object.fromEntries(started.map(([n, d]) => [n, d.target])), close: closeAll };
}
