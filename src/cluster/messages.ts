/**
 * The IPC messages between the cluster primary and its workers. prom-client's own aggregation
 * messages (`prom-client:*`) travel on the same channel; ours are all prefixed `gw:`.
 */

/** Primary → worker: re-read the config and schema (SIGHUP reached the primary). */
export interface ReloadRequest {
  type: 'gw:reload';
  id: number;
}

/** Worker → primary: how a reload went. */
export interface ReloadReply {
  type: 'gw:reload-result';
  id: number;
  ok: boolean;
  generation: number;
  error?: string;
}

/** Worker → primary: a scrape of `/metrics` reached this worker; please aggregate every worker. */
export interface MetricsRequest {
  type: 'gw:metrics';
  id: number;
}

/** Primary → worker: the aggregated exposition text (or why there is none). */
export interface MetricsReply {
  type: 'gw:metrics-result';
  id: number;
  text?: string;
  contentType?: string;
  error?: string;
}

export type ToWorker = ReloadRequest | MetricsReply;
export type ToPrimary = ReloadReply | MetricsRequest;

/** Environment the primary hands to each worker. */
export const ENV_DEMO_TARGETS = 'GATEWAY_DEMO_TARGETS';
/** How many workers the group has (a worker's reload refuses what N processes cannot share). */
export const ENV_WORKER_COUNT = 'GATEWAY_WORKER_COUNT';
/** The worker's slot, 0..N-1, stable across restarts (for logs). */
export const ENV_WORKER_SLOT = 'GATEWAY_WORKER_SLOT';

export function isMessage<T extends { type: string }>(msg: unknown, type: T['type']): msg is T {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}
