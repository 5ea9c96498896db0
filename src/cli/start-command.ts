/**
 * `gateway start`: one process (the default), or a primary with N workers sharing one port
 * (`--workers N|auto`, or the GATEWAY_WORKERS environment variable). Either way SIGTERM /
 * SIGINT drain and exit 0, and SIGHUP reloads the config file and the schema (see
 * src/reload.ts); `--watch` reloads on file changes too (development).
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadConfigFile } from '../config/load.js';
import { DEFAULT_CONFIG, PROJECT_ROOT, UPSTREAMS_DIR } from '../paths.js';
import type { RunningDemos } from '../demo/start-demos.js';
import { createLogger, loggerOptions } from '../telemetry/logger.js';
import type { CliIO } from './common.js';
import { EXIT_INVALID, EXIT_OK, reportFailure } from './common.js';
import { PortUnavailableError, checkPortFree, explainListenError, formatReadyLine } from './start-report.js';
import { checkDevSecret } from '../auth/dev-secret.js';
import { checkSessionStoreWorkers } from '../auth/oidc/workers-check.js';

interface StartFlags {
  config: string;
  port?: number;
  host?: string;
  demo?: boolean;
  schemaDir?: string;
  resolversDir?: string;
  upstreamsDir?: string;
  workers?: string;
  watch?: boolean;
}

/** `N` (≥ 1) or `auto` (one per available core); undefined means a single process. */
export function parseWorkers(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`--workers must be a whole number from 1 to 1024, or auto; got "${value}"`);
  return n;
}

/**
 * Resolves on the first SIGTERM or SIGINT (the drain starts); a second one of either, while the
 * drain runs, ends the process at once with exit code 1 (Ctrl-C twice), as operators expect.
 */
function waitForStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', first);
      process.off('SIGINT', first);
      const again = (): void => process.exit(1);
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      resolve(signal);
    };
    process.on('SIGTERM', first);
    process.on('SIGINT', first);
  });
}

export function registerStartCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('start')
    .description('start the gateway')
    .option('--config <file>', 'config file', DEFAULT_CONFIG)
    .option('--port <n>', 'port (0 = ephemeral)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to bind')
    .option('--demo', 'start the demo upstreams in-process and use them')
    .option('--workers <n>', 'worker processes sharing the port: a number, or auto (one per core); env GATEWAY_WORKERS')
    .option('--watch', 'reload when the config file or a schema file changes (development)')
    .option('--schema-dir <dir>')
    .option('--resolvers-dir <dir>')
    .option('--upstreams-dir <dir>', 'folder of upstream folders whose demo servers --demo starts (default upstreams/)')
    .action(async (opts: StartFlags) => {
      try {
        setExit(await start(opts, io));
      } catch (err) {
        if (err instanceof PortUnavailableError) {
          io.err.write(`${err.message}\n`);
          setExit(EXIT_INVALID);
          return;
        }
        if (err instanceof Error && err.message.startsWith('--workers')) {
          io.err.write(`${err.message}\n`);
          setExit(1);
          return;
        }
        setExit(reportFailure(err, io));
      }
    });
}

async function start(opts: StartFlags, io: CliIO): Promise<number> {
  // The server stack loads only for this command: `config check` and `schema print` stay light.
  const [{ serveGateway }, { startDemos }, { runPrimary }, { runWorker }] = await Promise.all([
    import('../reload.js'),
    import('../demo/start-demos.js'),
    import('../cluster/primary.js'),
    import('../cluster/worker.js'),
  ]);
  const production = process.env.NODE_ENV === 'production';
  const serve = { configFile: opts.config, port: opts.port, host: opts.host, schemaDir: opts.schemaDir, resolversDir: opts.resolversDir, watch: opts.watch, production };
  if (cluster.isWorker) {
    try {
      return await runWorker(serve);
    } catch (err) {
      // A worker that cannot start (bad config, port taken) exits; the primary restarts it with backoff.
      io.err.write(`worker ${process.pid} failed to start: ${(err as Error).message ?? String(err)}\n`);
      return 1;
    } finally {
      // The IPC channel would keep the worker alive: drop it so the process ends once drained.
      process.disconnect?.();
    }
  }

  const workers = parseWorkers(opts.workers ?? process.env.GATEWAY_WORKERS);
  const { config, file } = loadConfigFile(opts.config);
  const logger = createLogger({ ...loggerOptions(config.logging), sharedStdout: workers !== undefined });
  logger.info({ file }, 'config loaded');
  // Refused before the demo upstreams or workers start; each generation checks both again (and refuses on reload) in src/reload.ts.
  const devSecret = checkDevSecret(config.auth, { production, demo: opts.demo === true });
  if (devSecret.kind === 'refuse') {
    io.err.write(`${devSecret.message}\n`);
    return EXIT_INVALID;
  }
  const sessionStore = checkSessionStoreWorkers(config.auth, workers);
  if (sessionStore) {
    io.err.write(`${sessionStore.path} ${sessionStore.message}.\n`);
    return EXIT_INVALID;
  }
  const port = opts.port ?? config.server.port;
  const host = opts.host ?? config.server.host;
  // Before demo upstreams, composition or workers: a taken port is one line and exit 1, nothing to undo.
  await checkPortFree(port, host);
  let demo: RunningDemos | undefined;
  if (opts.demo) {
    demo = await startDemos({ upstreamsDir: opts.upstreamsDir ?? UPSTREAMS_DIR, names: Object.keys(config.upstreams), root: PROJECT_ROOT });
    logger.info({ targets: demo.targets }, 'demo upstreams started');
  }
  try {
    if (workers !== undefined) {
      return await runPrimary({ configFile: opts.config, workers, logger, demoTargets: demo?.targets, schemaDir: opts.schemaDir, resolversDir: opts.resolversDir });
    }
    let served: Awaited<ReturnType<typeof serveGateway>>;
    try {
      served = await serveGateway({ ...serve, demoTargets: demo?.targets, logger });
    } catch (err) {
      // Someone took the port between the check and the bind.
      throw explainListenError(err, port);
    }
    logger.info({ port: served.port, url: `${served.url}${config.graphql.path}` }, 'listening');
    // Whoever started the process waits for this line: out now, not at the next batch.
    logger.flush?.();
    if (process.stdout.isTTY) {
      io.out.write(`${formatReadyLine({ url: served.url, graphqlPath: config.graphql.path, graphiql: config.graphql.graphiql !== false, metricsPort: config.server.metricsPort })}\n`);
    }
    const onHangup = () => void served.reload();
    process.on('SIGHUP', onHangup);
    const signal = await waitForStopSignal();
    process.off('SIGHUP', onHangup);
    logger.info({ signal }, 'draining');
    logger.flush?.();
    try {
      await served.close();
    } catch (err) {
      io.err.write(`shutdown failed: ${String(err)}\n`);
      return 1;
    }
    logger.info('stopped');
    return EXIT_OK;
  } finally {
    await demo?.close();
    logger.flush?.();
  }
}
