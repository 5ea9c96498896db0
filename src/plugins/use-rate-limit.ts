/**
 * Rate limits: global, per client, per route (passthrough) and per GraphQL field, counted in
 * memory or in Redis (see src/limits/limiter-store.ts for what happens when Redis fails).
 *
 * - The client is `ctx.identity.clientId` (JWT `sub`, else API-key owner, else IP; set by the
 *   identity plugin, which runs before this one), or `ctx.ip` when there is no identity.
 * - Request-level windows (global, per client, per route) apply to `/graphql` and to matched
 *   passthrough routes; health, readiness and metrics endpoints are never limited. Over one:
 *   429 RATE_LIMITED with `Retry-After` (whole seconds) for the whole request.
 * - Order: per client, then per route, then global, stopping at the first refusal, so a client
 *   over its own window does not also spend the shared global budget.
 * - Where a per-client or per-route window applies, every response carries the
 *   `X-RateLimit-*` trio for the most restrictive of them (and/or the IETF `RateLimit` /
 *   `RateLimit-Policy` fields, per `rateLimit.headers`); a window with `warnAtPercent` past
 *   that share adds `X-RateLimit-Warning` (src/limits/headers.ts).
 * - Each window counts with its `algorithm` (fixed-window, sliding-window, token-bucket).
 * - Field windows answer only that field with RATE_LIMITED and keep the rest of the data.
 *
 * For observers (metrics, access log), this plugin leaves on the request context:
 * - `ctx.limits`: the decisions taken, e.g. `['perClient:ok', 'global:exceeded']`
 *   (`field:Type.field:exceeded` for field refusals);
 * - `ctx.rateLimited`: `{ clientId, route, limit }` ({@link RateLimitedMark}) set on the
 *   first refusal of the request (request-level or field-level); absent when nothing was refused.
 *   The observability plugin counts `gateway_rate_limit_exceeded_total{client_id,route}` from it.
 */
import type { GraphQLSchema } from 'graphql';
import type { RateWindow, RedisConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { RateLimited, isGatewayError } from '../errors.js';
import type { ServerContext } from '../graphql/create-yoga.js';
import { requestError } from '../graphql/request-error.js';
import { reproducedByDirectPath } from '../graphql/yoga-http-port.js';
import type { Logger } from '../telemetry/logger.js';
import { LimiterStore, type Decision, type WindowLimiter } from '../limits/limiter-store.js';
import { applyFieldLimits, collectFieldWindows, createFieldLimiters, markRateLimited } from '../limits/field-limits.js';
import {
  advertisedWindow, mostRestrictive, retryAfterSeconds, writeRateLimitHeaders,
  type AdvertisedWindow, type HeaderStyle,
} from '../limits/headers.js';
import type { GatewayPlugin } from './types.js';

export type { RateLimitedMark } from '../limits/field-limits.js';

/** Options for {@link useRateLimit}. */
export interface RateLimitOptions {
  /** One window for all traffic of this gateway (all instances with Redis). */
  global?: RateWindow;
  /** One window per client. */
  perClient?: RateWindow;
  /** Route name → window per client on that passthrough route (`routes[].rateLimit`). */
  routes?: Record<string, RateWindow>;
  /** `Type.field` → window per client for each resolution of that field (`rateLimit.fields`). */
  fields?: Record<string, RateWindow>;
  /** The composed schema: its `@rateLimit` directives add field windows. */
  schema?: GraphQLSchema;
  /** Which header fields to send. @default 'x-ratelimit' */
  headers?: HeaderStyle;
  /** Count in Redis (shared by every instance using it) instead of in this process. */
  redis?: RedisConfig;
  /** Redis unreachable: per-instance memory windows (true) or 503 (false). @default true */
  failOpen?: boolean;
  logger: Logger;
}

interface ClientWindow {
  limiter: WindowLimiter;
  advertised: AdvertisedWindow;
}

interface RouteLimits {
  window: ClientWindow;
  /** `RateLimit-Policy` value when this route's window applies (with the per-client one, if any). */
  policyHeader: string;
}

/** A plugin that does nothing: no window configured anywhere. */
const NONE: GatewayPlugin = { name: 'rate-limit' };

export function useRateLimit(opts: RateLimitOptions): GatewayPlugin {
  const fieldWindows = opts.schema ? collectFieldWindows(opts.schema, opts.fields ?? {}) : new Map<string, RateWindow>();
  const routeWindows = Object.entries(opts.routes ?? {});
  if (!opts.global && !opts.perClient && routeWindows.length === 0 && fieldWindows.size === 0) return NONE;

  const store = new LimiterStore({ redis: opts.redis, failOpen: opts.failOpen, logger: opts.logger });
  const style: HeaderStyle = opts.headers ?? 'x-ratelimit';
  const global = opts.global ? store.window('global', opts.global) : undefined;
  const perClient: ClientWindow | undefined = opts.perClient
    ? { limiter: store.window('perClient', opts.perClient), advertised: advertisedWindow('client', opts.perClient) }
    : undefined;
  const clientPolicy = perClient?.advertised.policy ?? '';
  const routes = new Map<string, RouteLimits>();
  for (const [name, w] of routeWindows) {
    const advertised = advertisedWindow(name, w);
    routes.set(name, {
      window: { limiter: store.window(`route:${name}`, w), advertised },
      policyHeader: clientPolicy ? `${clientPolicy}, ${advertised.policy}` : advertised.policy,
    });
  }
  const fieldLimiters = createFieldLimiters(store, fieldWindows);
  const requestLevel = !!(global || perClient);

  function refuse(ctx: RequestContext, clientId: string, limit: string, d: Decision, retryFloorSec = 0): never {
    markRateLimited(ctx, clientId, limit);
    const retry = Math.max(retryAfterSeconds(d), retryFloorSec);
    throw RateLimited(retry).withHeaders({ 'Retry-After': String(retry) });
  }

  /** What one check has gathered: the windows consulted and their decisions, for the headers. */
  interface Pass {
    ctx: RequestContext;
    route: RouteLimits | undefined;
    clientId: string;
    points: number;
    limits: string[];
    windows: AdvertisedWindow[];
    decisions: Decision[];
    policy: string;
    retryFloorSec: number;
  }

  /** Writes the header fields for the windows consulted so far. */
  function report(p: Pass): void {
    if (p.decisions.length === 0) return;
    writeRateLimitHeaders(p.ctx.res, style, p.windows, p.decisions, mostRestrictive(p.decisions), p.policy);
  }

  /** The windows a request passes, in this order; a step whose window does not apply is skipped. */
  const PER_CLIENT = 0;
  const ROUTE = 1;
  const GLOBAL = 2;

  /** The window of step `step`, or undefined when none applies to this request. */
  function windowOf(p: Pass, step: number): WindowLimiter | undefined {
    return step === PER_CLIENT ? perClient?.limiter : step === ROUTE ? p.route?.window.limiter : global;
  }

  /** Records step `step`'s decision; over the window: headers so far (per client, route), then 429. */
  function record(p: Pass, step: number, d: Decision): void {
    if (step === GLOBAL) {
      if (d.allowed) p.limits.push('global:ok'); // refusals are recorded once, by markRateLimited
      else refuse(p.ctx, p.clientId, 'global', d, p.retryFloorSec);
      return;
    }
    const w = step === PER_CLIENT ? perClient! : p.route!.window;
    const limit = step === PER_CLIENT ? 'perClient' : 'route';
    p.windows.push(w.advertised);
    p.decisions.push(d);
    if (d.allowed) {
      p.limits.push(step === PER_CLIENT ? 'perClient:ok' : 'route:ok'); // refusals are recorded once, by markRateLimited
      return;
    }
    report(p);
    refuse(p.ctx, p.clientId, limit, d, p.retryFloorSec);
  }

  /**
   * Runs the steps from `step` on. Each window says whether it decides at once (`synchronous`:
   * counted in this process) or answers a promise (Redis), so the path follows the store actually
   * built: decisions made at once go on in the same call (no promise per request); at a promise
   * the rest runs once it settles.
   */
  function run(p: Pass, step: number): Promise<void> | undefined {
    for (; step <= GLOBAL; step++) {
      // The headers carry the per-client and route windows, whether or not the global one refuses.
      if (step === GLOBAL) report(p);
      const w = windowOf(p, step);
      if (w === undefined) continue;
      const key = step === GLOBAL ? 'all' : p.clientId;
      if (!w.synchronous) return resume(p, step, w.take(key, p.points));
      record(p, step, w.take(key, p.points));
    }
    return undefined;
  }

  /** The rest of {@link run} once step `step`'s window answered (apart, so that run allocates no closure). */
  async function resume(p: Pass, step: number, pending: Promise<Decision>): Promise<void> {
    record(p, step, await pending);
    await run(p, step + 1);
  }

  /** Takes `points` from each window that applies (one per GraphQL operation; see the batch hook below). */
  function check(ctx: RequestContext, route: RouteLimits | undefined, points = 1, retryFloorSec = 0): Promise<void> | undefined {
    const p: Pass = {
      ctx, route, clientId: ctx.identity?.clientId ?? ctx.ip, points, limits: (ctx.limits ??= []),
      windows: [], decisions: [], policy: route ? route.policyHeader : clientPolicy, retryFloorSec,
    };
    return run(p, PER_CLIENT);
  }

  /**
   * A batched GraphQL request (use-batching.ts) counts one point per operation: onRequest took
   * the first before the body was read; once yoga has parsed the batch, the other N-1 are taken
   * from the same windows. A batch the windows cannot hold is refused whole (429, no operation
   * runs), as a single request over its window is. Its Retry-After is at least one whole window:
   * the retry pays its first point up front again, so a wait sized for the other N-1 alone could
   * leave it one point short every time.
   */
  const batchRetryFloorSec = Math.max(opts.perClient?.durationSec ?? 0, opts.global?.durationSec ?? 0);
  const batchPoints: YogaPlugin = {
    onRequestParse({ serverContext }) {
      const ctx = (serverContext as Partial<ServerContext> | undefined)?.gw;
      if (!ctx) return;
      return {
        onRequestParseDone({ requestParserResult }) {
          if (!Array.isArray(requestParserResult) || requestParserResult.length < 2) return;
          const asRequestError = (err: unknown) => {
            throw isGatewayError(err) ? requestError(err, ctx) : err;
          };
          try {
            return check(ctx, undefined, requestParserResult.length - 1, batchRetryFloorSec)?.catch(asRequestError);
          } catch (err) {
            return asRequestError(err);
          }
        },
      };
    },
  };

  return {
    name: 'rate-limit',
    yogaPlugins: requestLevel ? [reproducedByDirectPath(batchPoints, 'the direct path takes no batches: an array body always goes to yoga')] : undefined,
    onRequest(ctx) {
      const t = ctx.target;
      let route: RouteLimits | undefined;
      if (t.kind === 'route') route = routes.get(t.route.name);
      else if (t.kind !== 'graphql') return;
      if (!requestLevel && !route) return;
      return check(ctx, route);
    },
    // Field windows wrap the resolvers; field authorization (create-yoga.ts) wraps them in turn.
    transformSchema: fieldLimiters.size > 0 ? (schema) => applyFieldLimits(schema, fieldLimiters) : undefined,
    close() {
      return store.close();
    },
  };
}
