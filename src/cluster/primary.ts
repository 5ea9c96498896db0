/**
 * The primary of `gateway start --workers N`: it serves no request itself. It validates the
 * config once, forks N workers that share one listening port (node:cluster distributes the
 * connections), and supervises them:
 *
 * - a worker that dies is forked again, after a backoff that grows while workers keep dying
 *   young (0.25 s doubling to 10 s; a worker that lived 10 s resets it);
 * - SIGTERM / SIGINT: every worker drains (in-flight requests finish, up to `server.drainMs`),
 *   then the primary exits 0; workers still alive `drainMs` + 5 s later are killed (exit 1);
 * - SIGHUP: the config is validated here first (an invalid one is refused and logged once);
 *   a valid one is sent to every worker, which reloads and reports back;
 * - `/metrics` scrapes reaching any worker are answered with every worker's registry
 *   aggregated (prom-client's AggregatorRegistry: counters and histograms summed).
 *
 * Prints the contract's one `"msg":"listening"` line once every worker is listening.
 */
import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { checkSessionStoreWorkers } from '../auth/oidc/workers-check.js';
import { composeFor } from '../assemble.js';
import type { DemoTargets } from '../demo/start-demos.js';
import type { Logger } from '../telemetry/logger.js';
import { ENV_DEMO_TARGETS, ENV_WORKER_COUNT, ENV_WORKER_SLOT, isMessage, type MetricsRequest, type ReloadReply, type ReloadRequest } from './messages.js';

export interface PrimaryOptions {
  configFile: string;
  workers: number;
  logger: Logger;
  /** Where the demo upstreams answer, when the primary started them. */
  demoTargets?: DemoTargets;
  schemaDir?: string;
  resolversDir?: string;
}

const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 10_000;
/** A worker that lived this long was healthy: its slot's backoff starts over. */
const HEALTHY_AFTER_MS = 10_000;
const KILL_GRACE_MS = 5000;

interface Slot {
  index: number;
  worker: Worker | undefined;
  startedAt: number;
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/** The restart delay after `crashes` consecutive early deaths. */
export function restartDelayMs(crashes: number): number {
  return Math.min(BACKOFF_START_MS * 2 ** Math.max(0, crashes - 1), BACKOFF_MAX_MS);
}

/** Validates the config and the schema; throws ConfigError / CompositionError like a single process would. */
async function validate(opts: PrimaryOptions): Promise<{ drainMs: number }> {
  const { config } = loadConfigFile(opts.configFile);
  const sessionStore = checkSessionStoreWorkers(config.auth, opts.workers);
  if (sessionStore) throw new ConfigError([sessionStore], opts.configFile);
  await composeFor(config, opts);
  return { drainMs: config.server.drainMs };
}

/** Runs the primary until the group has drained; resolves with the exit code. */
export async function runPrimary(opts: PrimaryOptions): Promise<number> {
  const { logger } = opts;
  let { drainMs } = await validate(opts);
  const aggregator = new client.AggregatorRegistry();
  const slots: Slot[] = Array.from({ length: opts.workers }, (_, index) => ({ index, worker: undefined, startedAt: 0, crashes: 0, restartTimer: undefined }));
  const bySlot = new Map<Worker, Slot>();
  let port: number | undefined;
  let announced = false;
  let stopping = false;
  const listeningOnce = new Set<number>();

  function fork(slot: Slot): void {
    const env: Record<string, string> = { [ENV_WORKER_SLOT]: String(slot.index), [ENV_WORKER_COUNT]: String(slots.length) };
    if (opts.demoTargets) env[ENV_DEMO_TARGETS] = JSON.stringify(opts.demoTargets);
    const worker = cluster.fork(env);
    slot.worker = worker;
    slot.startedAt = Date.now();
    bySlot.set(worker, slot);
  }

  cluster.on('listening', (worker, address) => {
    const slot = bySlot.get(worker);
    if (!slot) return;
    port ??= address.port;
    listeningOnce.add(slot.index);
    if (!announced && listeningOnce.size === slots.length) {
      announced = true;
      logger.info({ port, workers: slots.length }, 'listening');
      logger.flush?.();
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const slot = bySlot.get(worker);
    bySlot.delete(worker);
    if (!slot || slot.worker !== worker) return;
    slot.worker = undefined;
    if (stopping) return;
    const lived = Date.now() - slot.startedAt;
    slot.crashes = lived >= HEALTHY_AFTER_MS ? 1 : slot.crashes + 1;
    const delay = restartDelayMs(slot.crashes);
    logger.warn({ worker: slot.index, workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died; restarting it');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!stopping) fork(slot);
    }, delay);
  });

  // Scrapes and reload results come back over IPC.
  let reloadSeq = 0;
  const reloads = new Map<number, { expected: number; replies: ReloadReply[] }>();
  cluster.on('message', (worker, msg: unknown) => {
    if (isMessage<MetricsRequest>(msg, 'gw:metrics')) {
      aggregator.clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ type: 'gw:metrics-result', id: msg.id, text, contentType: aggregator.contentType }),
        (err: Error) => worker.isConnected() && worker.send({ type: 'gw:metrics-result', id: msg.id, error: err.message }),
      );
    } else if (isMessage<ReloadReply>(msg, 'gw:reload-result')) {
      const round = reloads.get(msg.id);
      if (!round) return;
      round.replies.push(msg);
      if (round.replies.length < round.expected) return;
      reloads.delete(msg.id);
      const failed = round.replies.filter((r) => !r.ok);
      if (failed.length === 0) logger.info({ workers: round.replies.length, generation: round.replies[0]?.generation }, 'reloaded');
      else logger.error({ failed: failed.length, of: round.expected, reason: failed[0]?.error }, 'reload refused by some workers; they keep their running configuration');
    }
  });

  for (const slot of slots) fork(slot);

  process.on('SIGHUP', () => {
    if (stopping) return;
    validate(opts).then(
      (v) => {
        drainMs = v.drainMs;
        const live = slots.flatMap((s) => (s.worker?.isConnected() ? [s.worker] : []));
        const id = ++reloadSeq;
        reloads.set(id, { expected: live.length, replies: [] });
        logger.info({ workers: live.length }, 'reloading');
        for (const w of live) w.send({ type: 'gw:reload', id } satisfies ReloadRequest);
      },
      (err: Error) => logger.error({ reason: err.message }, 'reload refused: the running configuration keeps serving'),
    );
  });

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  stopping = true;
  logger.info({ signal, workers: slots.filter((s) => s.worker).length }, 'draining');
  logger.flush?.();
  for (const slot of slots) clearTimeout(slot.restartTimer);
  const alive = slots.flatMap((s) => (s.worker ? [s.worker] : []));
  const exits = alive.map((w) => new Promise<number | null>((resolve) => (w.isDead() ? resolve(w.process.exitCode) : w.once('exit', (code) => resolve(code)))));
  for (const w of alive) w.process.kill('SIGTERM');
  let killed = false;
  const killer = setTimeout(() => {
    killed = true;
    logger.error('workers did not drain in time; killing them');
    for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL');
  }, drainMs + KILL_GRACE_MS);
  const codes = await Promise.all(exits);
  clearTimeout(killer);
  const clean = !killed && codes.every((c) => c === 0);
  logger.info({ exitCodes: codes }, 'stopped');
  logger.flush?.();
  return clean ? 0 : 1;
}
