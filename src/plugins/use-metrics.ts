/**
 * Prometheus metrics (src/telemetry/metrics.ts for the families and their labels).
 *
 * - Requests: counted and timed in `onDone`, from the route label the router set (so an
 *   unmatched path is `route="unmatched"`, GraphQL is `route="graphql"`).
 * - Rate limits: the rate-limit plugin leaves `ctx.rateLimited` ({@link RateLimitedMark})
 *   on the first refusal of a request; this plugin counts it once per request.
 * - Upstreams: an interceptor reports each call's outcome on the events bus; this plugin
 *   listens there, and also for retries, breaker states and target health from the
 *   resilience layer.
 * - GraphQL: operations by name, type and first error code, from yoga's execute hook.
 * - `/metrics` is served on the main port, or only on `server.metricsPort` when that is set.
 * - Who may read it (`server.metricsAllow`, CIDR; loopback and private networks by default):
 *   the TCP peer must be in the list, on either port, since the exposition names clients (JWT
 *   subjects, IPs). On the main port the client IP (as `server.trustProxy` resolves it) must be
 *   in it too, so a proxy on a private network does not lend its address to the Internet; and a
 *   request carrying forwarding headers that no trusted proxy vouches for (trustProxy off) is
 *   refused, because its peer is a proxy nobody told us about. Others get 403 FORBIDDEN.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { getOperationAST, type ExecutionResult, type GraphQLError } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { StateKey, type RequestContext } from '../context.js';
import { Forbidden, NotFound, isGatewayError } from '../errors.js';
import type { GatewayEvents } from '../telemetry/events.js';
import type { Logger } from '../telemetry/logger.js';
import { CIRCUIT_STATE_VALUE, GatewayMetrics, capLabel, methodLabel } from '../telemetry/metrics.js';
import { createOutcomeReporter } from '../telemetry/upstream-outcomes.js';
import type { RateLimitedMark } from './use-rate-limit.js';
import type { GatewayPlugin } from './types.js';
import { compileIpFilter } from './use-ip-filter.js';

/** Options for {@link useMetrics}. */
export interface MetricsOptions {
  /** The gateway's events bus (upstream outcomes, retries, breaker states). */
  events: GatewayEvents;
  /** Upstream names from the config (their circuit gauge starts at closed). */
  upstreams: string[];
  /** Serve `/metrics` on this port (0: any free port) instead of the main one. @default undefined */
  metricsPort?: number;
  /** Address the metrics port binds to. @default '0.0.0.0' */
  host?: string;
  /** Distinct `client_id` label values kept before folding into `other`. @default 1000 */
  maxClientIds?: number;
  /**
   * Peer addresses (CIDR or single addresses) allowed to read `/metrics`; empty: nobody.
   * @default DEFAULT_METRICS_ALLOW (loopback and private networks)
   */
  allow?: readonly string[];
  /** Whether a trusted proxy sets the client IP (`server.trustProxy`). @default false */
  trustProxy?: boolean;
  logger: Logger;
}

/** Loopback, RFC 1918 and IPv6 unique-local (RFC 4193) networks: where scrapers normally sit. */
export const DEFAULT_METRICS_ALLOW: readonly string[] = ['127.0.0.0/8', '::1', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** Headers a proxy adds; on a request to `/metrics` they mean the peer is not the client. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

type MetricsGuard = (peer: string | undefined, headers: IncomingHttpHeaders, clientIp?: string) => boolean;

/** Compiles `allow` once; the guard says whether a request may read the metrics. */
export function compileMetricsGuard(allow: readonly string[], trustProxy: boolean): MetricsGuard {
  if (allow.length === 0) return () => false;
  const allowed = compileIpFilter({ allow: [...allow] });
  return (peer, headers, clientIp) => {
    if (!peer || !allowed(peer)) return false;
    if (clientIp !== undefined && clientIp !== peer && !allowed(clientIp)) return false;
    return trustProxy || FORWARDING_HEADERS.every((h) => headers[h] === undefined);
  };
}

/** A plugin that can answer `/metrics`; the chain hands it the internal endpoint. */
export interface MetricsPlugin extends GatewayPlugin {
  readonly metrics: GatewayMetrics;
  /** Answers a `/metrics` request on the main port (404 when a separate port serves it). */
  serveMetrics(ctx: RequestContext): Promise<void>;
  /** The bound metrics port, once `server.metricsPort` is listening. */
  readonly metricsPortBound: Promise<number> | undefined;
}

export function isMetricsPlugin(p: GatewayPlugin): p is MetricsPlugin {
  return typeof (p as Partial<MetricsPlugin>).serveMetrics === 'function';
}

const ACTIVE = new StateKey<boolean>('metrics.active');

/** The code a client will see: masking runs after this hook, so a gateway error is read from its cause. */
function graphqlErrorCode(e: GraphQLError): string {
  const code = e.extensions?.code ?? (isGatewayError(e.originalError) ? e.originalError.code : undefined);
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

const TARGET_STATE_VALUE = { in: 0, probing: 1, ejected: 2 } as const;

export function useMetrics(opts: MetricsOptions): MetricsPlugin {
  const m = new GatewayMetrics({ upstreams: opts.upstreams, maxClientIds: opts.maxClientIds });
  opts.events.add({
    onCallEnd(upstream, outcome, durationMs) {
      const cell = m.upstreamCell(upstream);
      cell.count(outcome);
      cell.duration.observe(durationMs / 1000);
    },
    onRetry(upstream) {
      m.upstreamRetries.inc({ upstream });
    },
    onBreakerState(upstream, state) {
      m.circuitState.set({ upstream }, CIRCUIT_STATE_VALUE[state]);
      m.circuitTransitions.inc({ upstream, state });
    },
    onTargetHealth(upstream, target, healthy) {
      m.targetHealthy.set({ upstream, target }, healthy ? 1 : 0);
    },
    onTargetState(upstream, target, state) {
      m.targetState.set({ upstream, target }, TARGET_STATE_VALUE[state]);
      if (state === 'ejected') m.targetEjections.inc({ upstream, target });
    },
    onPanicPick(upstream) {
      m.upstreamPanic.inc({ upstream });
    },
    onCallRefused(upstream, reason) {
      m.upstreamRefused.inc({ upstream, reason });
    },
  });
  const reporter = createOutcomeReporter(opts.events);

  const mayRead = compileMetricsGuard(opts.allow ?? DEFAULT_METRICS_ALLOW, opts.trustProxy ?? false);
  const separate = opts.metricsPort !== undefined ? startMetricsServer(m, opts.metricsPort, opts.host ?? '0.0.0.0', mayRead, opts.logger) : undefined;

  const yogaPlugins: YogaPlugin[] = [
    {
      onExecute({ args }) {
        const op = getOperationAST(args.document, args.operationName);
        const name = op?.name?.value;
        const labels = {
          operation_name: name ? m.operationNames.value(name) : 'anonymous',
          operation_type: op?.operation ?? 'unknown',
          error_code: 'none',
        };
        const gw = (args.contextValue as { gw?: RequestContext }).gw;
        return {
          onExecuteDone({ result }) {
            // The access log names the operation even when the client sent no `operationName`.
            if (gw && name) gw.operationName ??= name;
            // Streamed results (defer, subscriptions) are counted once, without their error code.
            if (Symbol.asyncIterator in result) return void m.graphqlOperations.inc(labels);
            const errors = (result as ExecutionResult).errors;
            if (errors?.length) {
              for (const e of errors) m.graphqlErrors.inc({ code: graphqlErrorCode(e) });
              labels.error_code = graphqlErrorCode(errors[0]!);
            }
            m.graphqlOperations.inc(labels);
          },
        };
      },
    },
  ];

  async function serveMetrics(ctx: RequestContext): Promise<void> {
    if (separate) throw NotFound(ctx.method, ctx.path);
    if (!mayRead(ctx.req.socket.remoteAddress, ctx.req.headers, ctx.ip)) throw Forbidden('metrics are readable only from server.metricsAllow');
    const { body, contentType } = await m.render();
    ctx.res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    ctx.res.end(body);
  }

  return {
    name: 'metrics',
    metrics: m,
    metricsPortBound: separate?.bound,
    yogaPlugins,
    onRequest(ctx) {
      m.inFlight++;
      ctx.set(ACTIVE, true);
    },
    onDone(ctx) {
      if (ctx.get(ACTIVE)) m.inFlight--;
      const res = ctx.res;
      const route = capLabel(ctx.routeLabel);
      const cell = m.requestCell(methodLabel(ctx.method), route);
      cell.count(res.writableFinished ? res.statusCode : 499);
      cell.duration.observe((performance.now() - ctx.startedAt) / 1000);
      const limited = ctx.rateLimited;
      if (limited) m.rateLimitExceeded.inc({ client_id: m.clientIds.value(limited.clientId), route: capLabel(limited.route) });
      const cache = res.getHeader('x-cache');
      if (cache === 'HIT' || cache === 'MISS') m.cacheLookups.inc({ route, result: cache === 'HIT' ? 'hit' : 'miss' });
    },
    interceptorsFor() {
      return [reporter];
    },
    serveMetrics,
    endpoints: { '/metrics': serveMetrics },
    async close() {
      if (separate) await separate.close();
    },
  };
}

interface MetricsServer {
  bound: Promise<number>;
  close(): Promise<void>;
}

/**
 * `/metrics` on its own port. A hot reload builds the new gateway before the old one lets go
 * of the port, so binding retries on EADDRINUSE for up to 30 s.
 */
function startMetricsServer(m: GatewayMetrics, port: number, host: string, mayRead: MetricsGuard, logger: Logger): MetricsServer {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (!mayRead(req.socket.remoteAddress, req.headers)) {
      const err = Forbidden('metrics are readable only from server.metricsAllow');
      res.writeHead(err.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message, code: err.code }));
      return;
    }
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found', code: 'NOT_FOUND' }));
      return;
    }
    m.render().then(
      ({ body, contentType }) => res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body),
      () => res.writeHead(500).end(),
    );
  });
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const bound = new Promise<number>((resolve, reject) => {
    let attempts = 0;
    const tryListen = () => {
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        const p = (server.address() as AddressInfo).port;
        logger.info({ port: p }, 'metrics listening');
        resolve(p);
      });
    };
    const onError = (err: NodeJS.ErrnoException) => {
      // Up to 30 s: longer than a reload's drain normally takes, short enough to surface a real clash.
      if (err.code === 'EADDRINUSE' && attempts++ < 120 && !closed) {
        if (attempts === 1) logger.warn({ port }, 'metrics port busy; retrying (a previous generation may still hold it)');
        retry = setTimeout(tryListen, 250);
        return;
      }
      logger.error({ err, port }, 'metrics port could not be bound');
      reject(err);
    };
    tryListen();
  });
  bound.catch(() => {
    // Reported in the log above; the main port keeps serving without metrics.
  });
  return {
    bound,
    close() {
      closed = true;
      clearTimeout(retry);
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
