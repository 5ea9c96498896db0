/**
 * Throttles credential guessing (`auth.failureLimit`): failed authentications (a bearer token
 * that does not verify, a malformed Authorization header, an unknown API key) are counted per
 * client IP in a rate-limit window, in memory or in Redis like every other limit
 * (src/limits/limiter-store.ts). Once an IP has spent its failures, every request from it that
 * carries a credential is answered 429 RATE_LIMITED with `Retry-After` until the window ends,
 * before any verification work: a correct guess made while blocked is refused too, so the
 * answer tells the guesser nothing. Requests without credentials are not affected, so a NAT
 * shared with a guesser still reaches public content.
 *
 * - Success is never counted nor slowed: only the identity plugin's failure hook takes points.
 * - The block itself is kept in this process (a bounded table), so the check costs no Redis
 *   round trip and keeps the chain synchronous. With Redis the failures are counted across
 *   instances; an instance learns of a block at the next failure it sees itself, so across N
 *   instances at most N - 1 guesses pass beyond the limit per window.
 * - IPv6 clients are counted per /64, the smallest network a host is usually given; IPv4-mapped
 *   addresses count as the IPv4 address.
 */
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';
import { takeQueryParam } from '../http/query-param.js';
import type { RateWindow, RedisConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import { RateLimited } from '../errors.js';
import { LimiterStore, type WindowLimiter } from '../limits/limiter-store.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayPlugin } from './types.js';
import { clientCertificate } from '../auth/client-certificate.js';

/** Options for {@link useAuthThrottle}. */
export interface AuthThrottleOptions {
  /** Failures allowed per client per window; false: no throttle. @default { points: 10, durationSec: 60 } */
  window: RateWindow | false;
  /** The API-key header, lower-cased (a credential like `Authorization`). @default 'x-api-key' */
  apiKeyHeader?: string;
  /** `auth.apiKeys.queryParam`: a key in this query parameter is a credential too. @default none */
  apiKeyQueryParam?: string;
  /** The listener verifies client certificates (`server.tls.clientCa`): presenting one is a credential too. @default false */
  clientCertificates?: boolean;
  /** Count failures in Redis, shared by every instance using it. */
  redis?: RedisConfig;
  /** Redis unreachable: count in memory (true); false loses failures until it is back, never answers 503. @default true */
  failOpen?: boolean;
  /** Blocked clients remembered at once in this process; the oldest goes first. @default 50000 */
  maxBlocked?: number;
  logger: Logger;
}

/** The throttle plugin, plus the hook the identity plugin calls on each failed authentication. */
export interface AuthThrottlePlugin extends GatewayPlugin {
  /** Counts one failed authentication for the request's client. Never throws. */
  recordFailure?(ctx: RequestContext): Promise<void>;
}

/** The key failures are counted under: the IPv4 address, or the IPv6 /64 network. */
export function failureKey(ip: string): string {
  // ctx.ip is canonical (src/plugins/use-client-ip.ts): an IPv4 address is its own key.
  if (!ip.includes(':')) return ip;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return ip;
  }
  if (addr.kind() === 'ipv4') return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

export function useAuthThrottle(opts: AuthThrottleOptions): AuthThrottlePlugin {
  if (!opts.window) return { name: 'auth-throttle' };
  const apiKeyHeader = (opts.apiKeyHeader ?? 'x-api-key').toLowerCase();
  const apiKeyQueryParam = opts.apiKeyQueryParam?.toLowerCase();
  const certs = opts.clientCertificates === true;
  const store = new LimiterStore({ redis: opts.redis, failOpen: opts.failOpen, logger: opts.logger, label: 'login throttle' });
  const failures: WindowLimiter = store.window('authFailures', opts.window);
  /** Client key → Date.now() until which its credentials are refused. */
  const blocked = new LRUCache<string, number>({ max: opts.maxBlocked ?? 50_000 });

  function carriesCredential(ctx: RequestContext): boolean {
    const h = ctx.req.headers;
    return (
      h.authorization !== undefined ||
      h[apiKeyHeader] !== undefined ||
      (apiKeyQueryParam !== undefined && takeQueryParam(ctx.query, apiKeyQueryParam) !== undefined) ||
      (certs && clientCertificate(ctx.req).kind !== 'none')
    );
  }

  return {
    name: 'auth-throttle',
    onRequest(ctx) {
      const t = ctx.target.kind;
      if (t === 'internal' || t === 'none' || t === 'method-not-allowed') return;
      // Nobody blocked (the usual case): nothing to look up on a credentialed request.
      if (blocked.size === 0 || !carriesCredential(ctx)) return;
      const key = failureKey(ctx.ip);
      const until = blocked.get(key);
      if (until === undefined) return;
      const left = until - Date.now();
      if (left <= 0) return void blocked.delete(key);
      const retry = Math.max(1, Math.ceil(left / 1000));
      throw RateLimited(retry).withHeaders({ 'Retry-After': String(retry) });
    },
    async recordFailure(ctx) {
      const key = failureKey(ctx.ip);
      try {
        const d = await failures.consume(key);
        // The failure that spends the last point blocks at once: the next guess is refused.
        if (!d.allowed || d.remaining === 0) blocked.set(key, Date.now() + d.resetMs);
      } catch (err) {
        // Only with Redis down and failOpen off: the request is refused anyway (it failed auth).
        opts.logger.warn({ err: (err as Error).message }, 'auth throttle: a failed authentication could not be counted');
      }
    },
    close() {
      return store.close();
    },
  };
}
