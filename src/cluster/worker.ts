/**
 * One worker of `gateway start --workers N`: a reloadable gateway (src/reload.ts) bound to the
 * port the whole group shares (node:cluster hands connections out from the primary).
 *
 * - SIGTERM / SIGINT: drain like a single process, then exit 0.
 * - `gw:reload` from the primary: reload, and answer how it went.
 * - `/metrics`: one scrape must see the whole group, so the worker asks the primary, which
 *   collects every worker's registry through prom-client's cluster aggregation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';
import { ServiceUnavailable } from '../errors.js';
import { compileMetricsGuard, isMetricsPlugin } from '../plugins/use-metrics.js';
import { serveGateway, type ServeOptions, type ServedGateway } from '../reload.js';
import type { DemoTargets } from '../demo/start-demos.js';
import { ENV_DEMO_TARGETS, ENV_WORKER_COUNT, ENV_WORKER_SLOT, isMessage, type MetricsReply, type MetricsRequest, type ReloadReply, type ReloadRequest } from './messages.js';

/** How long a worker waits for the aggregated metrics before answering 503. */
const METRICS_TIMEOUT_MS = 6000;

export type WorkerOptions = Omit<ServeOptions, 'demoTargets' | 'intercept' | 'workers'>;

interface PendingScrape {
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

/** Runs this process as a cluster worker until it is told to stop; resolves with the exit code. */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const send = (msg: ReloadReply | MetricsRequest) => process.send?.(msg);
  // Constructing it registers prom-client's worker-side listener, which answers the primary's
  // requests with this worker's registries (see syncRegistries).
  new client.AggregatorRegistry();
  // Each worker counts itself: summed by the aggregation, a scrape shows how many workers answered.
  new client.Gauge({ name: 'gateway_cluster_workers', help: 'Worker processes that answered this scrape', aggregator: 'sum' }).set(1);

  const scrapes = new Map<number, PendingScrape>();
  let nextScrape = 1;
  let served: ServedGateway | undefined;
  const intercept = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' || !isMetricsPath(req.url)) return false;
    // With a dedicated metrics port, the main port's /metrics stays whatever the gateway makes of it.
    if (served?.gateway.config.server.metricsPort !== undefined) return false;
    // Only a plain scrape from an allowed peer is aggregated here; anything else goes to the
    // gateway, whose /metrics step applies `server.metricsAllow` with the full client-IP rules.
    if (!served || !metricsReadable(served.gateway.config.server, req)) return false;
    const id = nextScrape++;
    const timer = setTimeout(() => answerScrape(id, { type: 'gw:metrics-result', id, error: 'timed out waiting for the other workers' }), METRICS_TIMEOUT_MS);
    scrapes.set(id, { res, timer });
    send({ type: 'gw:metrics', id });
    return true;
  };
  function answerScrape(id: number, reply: MetricsReply): void {
    const pending = scrapes.get(id);
    if (!pending) return;
    scrapes.delete(id);
    clearTimeout(pending.timer);
    const { res } = pending;
    if (reply.text === undefined) {
      const err = ServiceUnavailable(`metrics aggregation failed: ${reply.error ?? 'no answer'}`);
      const body = JSON.stringify({ error: err.message, code: err.code });
      res.writeHead(err.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, { 'content-type': reply.contentType ?? 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(reply.text) });
    res.end(reply.text);
  }

  const demoTargets = process.env[ENV_DEMO_TARGETS] ? (JSON.parse(process.env[ENV_DEMO_TARGETS]) as DemoTargets) : undefined;
  const workers = Number(process.env[ENV_WORKER_COUNT]) || undefined;
  served = await serveGateway({
    ...opts,
    demoTargets,
    workers,
    intercept,
  });
  // What a scrape aggregates: prom-client's default registry (gateway_cluster_workers) and the
  // metrics plugin's registry of the generation now serving (each generation has its own).
  const syncRegistries = () => {
    const plugin = served.gateway.plugins.find(isMetricsPlugin);
    client.AggregatorRegistry.setRegistries(plugin ? [client.register, plugin.metrics.registry] : [client.register]);
  };
  syncRegistries();
  const slot = process.env[ENV_WORKER_SLOT];
  served.logger.info({ worker: slot, port: served.port }, 'worker listening');

  process.on('message', (msg: unknown) => {
    if (isMessage<ReloadRequest>(msg, 'gw:reload')) {
      void served.reload().then((r) => {
        syncRegistries();
        send({ type: 'gw:reload-result', id: msg.id, ok: r.ok, generation: r.generation, error: r.ok ? undefined : r.error });
      });
    } else if (isMessage<MetricsReply>(msg, 'gw:metrics-result')) {
      answerScrape(msg.id, msg);
    }
  });
  // The primary forwards SIGHUP as a message; a SIGHUP sent to a worker directly reloads that worker.
  process.on('SIGHUP', () => void served.reload().then(syncRegistries));

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    // The primary died without telling us: stop rather than serve orphaned.
    process.once('disconnect', () => resolve('disconnect'));
  });
  served.logger.info({ worker: slot, signal }, 'draining');
  served.logger.flush?.();
  await served.close();
  for (const id of [...scrapes.keys()]) answerScrape(id, { type: 'gw:metrics-result', id, error: 'worker stopping' });
  served.logger.info({ worker: slot }, 'stopped');
  served.logger.flush?.();
  return 0;
}

const guards = new WeakMap<object, ReturnType<typeof compileMetricsGuard>>();

function metricsReadable(server: ServedGateway['gateway']['config']['server'], req: IncomingMessage): boolean {
  let guard = guards.get(server);
  if (!guard) guards.set(server, (guard = compileMetricsGuard(server.metricsAllow, false)));
  return guard(req.socket.remoteAddress, req.headers);
}

function isMetricsPath(url: string | undefined): boolean {
  if (!url) return false;
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)) === '/metrics';
}
