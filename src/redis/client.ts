/**
 * One way to open Redis from the `redis` config section: a single node (`url`), a Redis
 * Cluster (`cluster: [host:port, …]`) or a Sentinel-managed primary (`sentinel: {name, nodes}`).
 *
 * The client reconnects for ever (with capped backoff), so a Redis that comes back is picked up
 * without a restart. `failFast` is for callers on the request path (rate limits): commands fail
 * at once while the connection is down and time out instead of hanging, so the caller can fall
 * back rather than hold requests.
 */
import { createRequire } from 'node:module';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/schema.js';

export type RedisClient = Redis | Cluster;

// ioredis (~20 MB of heap and code) loads only when a `redis` section asks for it.
const requireLazily = createRequire(import.meta.url);
let ioredis: typeof import('ioredis') | undefined;
function loadIoredis(): typeof import('ioredis') {
  return (ioredis ??= requireLazily('ioredis') as typeof import('ioredis'));
}

export interface CreateRedisOptions {
  /** Fail commands at once while disconnected, and after `commandTimeoutMs` when Redis hangs. @default false */
  failFast?: boolean;
  /** Per-command timeout with `failFast`. @default 1000 */
  commandTimeoutMs?: number;
  /** Connect timeout per attempt. @default 2000 */
  connectTimeoutMs?: number;
  /** Don't connect until the first command (or `connect()`). @default false */
  lazyConnect?: boolean;
}

/** Reconnect backoff: 50 ms doubling up to 2 s, never giving up. */
function retryStrategy(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000);
}

interface HostPort {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: boolean;
}

/** Accepts `host:port`, `[v6]:port` or `redis(s)://[user:pass@]host:port`. */
export function parseRedisNode(node: string): HostPort {
  if (node.includes('://')) {
    const u = new URL(node);
    return {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : 6379,
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      tls: u.protocol === 'rediss:',
    };
  }
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(node);
  if (!m) return { host: node, port: 6379 };
  return { host: m[1]!, port: Number(m[2]) };
}

export function createRedis(config: RedisConfig, opts: CreateRedisOptions = {}): RedisClient {
  const { Cluster, Redis } = loadIoredis();
  const base: RedisOptions = {
    lazyConnect: opts.lazyConnect ?? false,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    retryStrategy,
  };
  if (opts.failFast) {
    base.enableOfflineQueue = false;
    base.maxRetriesPerRequest = 0;
    base.commandTimeout = opts.commandTimeoutMs ?? 1000;
  }

  if (config.cluster?.length) {
    const nodes = config.cluster.map(parseRedisNode);
    const first = nodes[0]!;
    const clusterOpts: ClusterOptions = {
      lazyConnect: base.lazyConnect,
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue: !opts.failFast,
      redisOptions: {
        connectTimeout: base.connectTimeout,
        username: first.username,
        password: first.password,
        tls: first.tls ? {} : undefined,
        ...(opts.failFast ? { maxRetriesPerRequest: 0, commandTimeout: base.commandTimeout } : {}),
      },
    };
    return new Cluster(nodes.map(({ host, port }) => ({ host, port })), clusterOpts);
  }

  if (config.sentinel) {
    const nodes = config.sentinel.nodes.map(parseRedisNode);
    const first = nodes[0]!;
    return new Redis({
      ...base,
      sentinels: nodes.map(({ host, port }) => ({ host, port })),
      name: config.sentinel.name,
      sentinelUsername: first.username,
      sentinelPassword: first.password,
      sentinelRetryStrategy: retryStrategy,
    });
  }

  if (!config.url) throw new Error('redis: set url, cluster or sentinel');
  return new Redis(config.url, base);
}
