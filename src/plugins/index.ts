/**
 * The plugin chain, in the one order it runs. Each line says why the step stands where it does.
 * Every request (GraphQL and passthrough alike) goes through the same chain.
 */
import { printSchema, type GraphQLSchema } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { GatewayConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import type { Logger } from '../telemetry/logger.js';
import type { Interceptor } from '../upstream/types.js';
import type { GatewayPlugin } from './types.js';
import type { GatewayEvents } from '../telemetry/events.js';
import { useRequestId } from './use-request-id.js';
import { useClientIp } from './use-client-ip.js';
import { useHostCheck } from './use-host-check.js';
import { useBodyLimit } from './use-body-limit.js';
import { useAccessLog } from './use-access-log.js';
import { useMetrics } from './use-metrics.js';
import { useTracing } from './use-tracing.js';
import { useUpstreamDeadline } from './use-upstream-deadline.js';
import { useIdentity } from './use-identity.js';
import { INTROSPECTION_UPSTREAM } from '../auth/introspection.js';
import { useOidcSession } from './use-oidc-session.js';
import { useAuthThrottle } from './use-auth-throttle.js';
import { useResilience } from './use-resilience.js';
import { useRateLimit } from './use-rate-limit.js';
import { useBatching } from './use-batching.js';
import type { PluginCarry } from './carry.js';
import { usePersistedOperations } from './use-persisted-operations.js';
import { useDemandControl } from './use-demand-control.js';
import { useIpFilter } from './use-ip-filter.js';
import { useCors } from './use-cors.js';
import { useCompression } from './use-compression.js';
import { useResponseCache } from './use-response-cache.js';

export interface ChainOptions {
  config: GatewayConfig;
  logger: Logger;
  projectRoot: string;
  configDir: string;
  schema: GraphQLSchema;
  /** Upstream-layer events (breaker state, retries, call outcomes) for telemetry to observe. */
  events: GatewayEvents;
  /** Hot reload: plugins whose inputs did not change are taken over from the serving generation (src/plugins/carry.ts). */
  carry?: PluginCarry;
}

export interface PluginChain {
  readonly plugins: readonly GatewayPlugin[];
  readonly yogaPlugins: YogaPlugin[];
  /** Every plugin's schema transform, in chain order (resolver wrappers such as field limits). */
  transformSchema(schema: GraphQLSchema): GraphQLSchema;
  /** Runs every onRequest hook in order; stops early once a hook answered the request. */
  run(ctx: RequestContext): void | Promise<void>;
  /** Runs every onDone hook (after the response). */
  done(ctx: RequestContext): void;
  interceptorsFor(upstream: string, protocol: 'http' | 'grpc'): Interceptor[];
  /** Internal endpoints the plugins serve (e.g. `/metrics`), by normalised path. */
  readonly endpoints: ReadonlyMap<string, (ctx: RequestContext) => Promise<void>>;
  close(): Promise<void>;
}

/** Whether `server.trustProxy` believes any forwarded hop (`false`, `0` and an empty list do not). */
function trustsProxies(t: GatewayConfig['server']['trustProxy']): boolean {
  return Array.isArray(t) ? t.length > 0 : t !== false && t !== 0;
}

export function buildPluginChain(opts: ChainOptions): PluginChain {
  const { config, logger } = opts;
  const carry = opts.carry;
  const token = carry?.begin();
  const rateLimitOptions = {
    ...config.rateLimit,
    routes: Object.fromEntries(config.routes.filter((r) => r.rateLimit).map((r) => [r.name, r.rateLimit!])),
    schema: opts.schema,
    redis: config.redis,
    logger,
  };
  // The TLS listener asks for client certificates: a verified one is an identity, presenting one is a credential.
  const clientCertificates = config.server.tls?.clientCa !== undefined && config.server.tls.requestCert !== false;
  const authThrottle = useAuthThrottle({ window: config.auth.failureLimit, apiKeyHeader: config.auth.apiKeys?.header, apiKeyQueryParam: config.auth.apiKeys?.queryParam, redis: config.redis, failOpen: config.rateLimit.failOpen, logger, clientCertificates });
  // Its windows hold the counters: a reload that changes none of its inputs keeps them.
  const rateLimitKey = () => JSON.stringify([config.rateLimit, rateLimitOptions.routes, config.redis, printSchema(opts.schema)]);
  const oidc = config.auth.oidc;
  const buildOidc = () => useOidcSession({ oidc: oidc!, redis: config.redis, logger });
  // The introspection endpoint's breaker reports as an upstream: its circuit gauge starts at 0 like theirs.
  const metricUpstreams = [...Object.keys(config.upstreams), ...(config.auth.introspection ? [INTROSPECTION_UPSTREAM] : [])];
  const plugins: GatewayPlugin[] = [
    // 0. Tracing first: the server span must cover every later step, and its interceptor is the outermost (one client span per call, retries inside).
    useTracing(),
    // 0b. Metrics next: the in-flight gauge counts requests any later step refuses; its interceptor reports each call's outcome (retries inside).
    useMetrics({ events: opts.events, upstreams: metricUpstreams, metricsPort: config.server.metricsPort, host: config.server.host, allow: config.server.metricsAllow, trustProxy: trustsProxies(config.server.trustProxy), logger }),
    // 1. Request id first: every later answer, error or log line carries it.
    useRequestId(),
    // 1a. Host check before anything reads Host (X-Forwarded-Host, CORS, logs): two readings of the target host are a 400.
    useHostCheck(),
    // 1b. Client IP right after: the IP filter, limits and logs all key on it.
    useClientIp({ trustProxy: config.server.trustProxy }),
    // 1c. IP filter as soon as the IP is known: a denied client gets nothing else, not even a preflight answer.
    useIpFilter(config.server.ipFilter),
    // 1d. CORS before body limit, auth and limits: preflights carry no credentials and are answered here.
    useCors(config.server.cors),
    // 2. Body limit before identity and limits: a declared oversize body is refused before any work.
    useBodyLimit({ maxBodyBytes: config.server.maxBodyBytes }),
    // 2a'. Auth-failure throttle just before identity: a client that guessed too often is refused before any verification work.
    authThrottle,
    // 2a''. Browser sessions just before identity: a session cookie is an identity the identity step then enforces like a token.
    // Its store holds the sessions (and pending logins): a reload that changes none of its inputs keeps them.
    ...(oidc ? [carry ? carry.reuse('oidc-session', JSON.stringify([oidc, config.redis]), buildOidc) : buildOidc()] : []),
    // 2b. Identity after the body limit and before limits: per-client limits key on the verified sub / API-key owner.
    useIdentity({ auth: config.auth, routes: config.routes, onFailure: authThrottle.recordFailure, logger, events: opts.events, clientCertificates, clientRoles: config.server.tls?.clientRoles }),
    // 2b''. Batch size (GraphQL only, at yoga's parse) before the rate limit's batch hook: a refused batch takes no points.
    useBatching({ maxBatchSize: config.graphql.batching?.maxBatchSize }),
    // 2c. Rate limits after identity (the client key is its sub / API-key owner, else the IP) and before any upstream work.
    carry ? carry.reuse('rate-limit', rateLimitKey(), () => useRateLimit(rateLimitOptions)) : useRateLimit(rateLimitOptions),
    // 2c'. Trusted documents / APQ (GraphQL only, always on: APQ is a default): swaps a hash or id for its document before anything parses it.
    usePersistedOperations({ ...config.graphql.persistedOperations, baseDir: opts.configDir, redis: config.redis }),
    // 2d. Demand control (GraphQL only, yoga hooks): depth/alias/cost checks before any resolver can call an upstream.
    useDemandControl({ ...config.graphql, schema: opts.schema }),
    // 3. Upstream deadline: fixes the request's time budget before anything calls an upstream.
    useUpstreamDeadline({ graphqlTimeoutMs: config.graphql.timeoutMs, routeTimeouts: Object.fromEntries(config.routes.filter((r) => r.timeoutMs).map((r) => [r.name, r.timeoutMs!])) }),
    // 3b. Compression: only negotiates the encoding (and wraps GraphQL answers); the handler compresses.
    useCompression({ enabled: config.server.compression }),
    // 3c. Response cache last before the handler: a hit must have passed auth and limits like any call.
    useResponseCache({
      routes: Object.fromEntries(config.routes.filter((r) => r.cache).map((r) => [r.name, r.cache!.ttlSec])),
      identityRoutes: config.routes.filter((r) => r.auth !== 'none' || r.roles.length > 0).map((r) => r.name),
      apiKeyHeader: config.auth.apiKeys?.header,
      maxBytes: config.cache.maxBytes,
      maxEntryBytes: config.cache.maxEntryBytes,
      redis: config.redis,
      logger,
    }),
    // 3d. Resilience: contributes only upstream interceptors (retry → balancer with per-target detection), inside tracing and metrics.
    useResilience({ upstreams: config.upstreams, events: opts.events, logger }),
    // Last. Access log: only observes (onDone), so its place in the chain is free; kept last for reading order.
    useAccessLog({ logger, enabled: config.logging.accessLog }),
  ];
  const owns = carry && token ? (p: GatewayPlugin) => carry.owns(token, p) : undefined;
  return createChain(plugins, owns);
}

/** Builds the runnable chain from plugins already in order. */
export function createChain(plugins: GatewayPlugin[], owns?: (p: GatewayPlugin) => boolean): PluginChain {
  const onRequest = plugins.filter((p) => p.onRequest).map((p) => p.onRequest!.bind(p));
  const onDone = plugins.filter((p) => p.onDone).map((p) => p.onDone!.bind(p));
  const yogaPlugins = plugins.flatMap((p) => p.yogaPlugins ?? []);
  const transforms = plugins.filter((p) => p.transformSchema).map((p) => p.transformSchema!.bind(p));
  const endpoints = new Map<string, (ctx: RequestContext) => Promise<void>>();
  for (const p of plugins) for (const [path, handler] of Object.entries(p.endpoints ?? {})) endpoints.set(path, handler);

  async function runFrom(ctx: RequestContext, i: number, pending: Promise<void>): Promise<void> {
    await pending;
    if (ctx.res.writableEnded) return;
    for (let j = i; j < onRequest.length; j++) {
      const r = onRequest[j]!(ctx);
      if (r) await r;
      if (ctx.res.writableEnded) return;
    }
  }

  return {
    plugins,
    yogaPlugins,
    transformSchema(schema) {
      return transforms.reduce((s, t) => t(s), schema);
    },
    run(ctx) {
      // Synchronous hooks run without promise overhead; the first async one switches modes.
      for (let i = 0; i < onRequest.length; i++) {
        const r = onRequest[i]!(ctx);
        if (r) return runFrom(ctx, i + 1, r);
        if (ctx.res.writableEnded) return;
      }
    },
    done(ctx) {
      for (const hook of onDone) {
        try {
          hook(ctx);
        } catch {
          // An observer failing must not take the process down; it has nothing to answer.
        }
      }
    },
    interceptorsFor(upstream, protocol) {
      return plugins.flatMap((p) => p.interceptorsFor?.(upstream, protocol) ?? []);
    },
    endpoints,
    async close() {
      // A plugin a newer generation took over (hot reload) is closed by that generation.
      for (const p of plugins) if (!owns || owns(p)) await p.close?.();
    },
  };
}
