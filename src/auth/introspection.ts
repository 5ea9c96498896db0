/**
 * RFC 7662 token introspection for opaque (non-JWT) bearer tokens, through openid-client.
 *
 * - Answers are cached by a digest of the token (never the token itself), for at most
 *   `cacheTtlSec` and never past half of the token's remaining life (`exp`), so a cached
 *   "active" can never outlive the token; the cache holds at most `cacheMaxEntries` answers.
 *   Concurrent lookups of one token share one call.
 * - The endpoint is one target behind the upstreams' passive detection
 *   (src/upstream/resilience/outlier.ts, as a circuit breaker): `failureThreshold` consecutive
 *   failures (no answer, timeout, 5xx) open it; for `openMs` lookups fail at once with
 *   IDP_UNAVAILABLE; then one trial call decides (success closes it, failure opens it again).
 *   Its states are reported as an upstream's, under the name {@link INTROSPECTION_UPSTREAM}, so
 *   they reach the same metrics (`gateway_circuit_state`, `gateway_upstream_target_state`, …).
 */
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { LRUCache } from 'lru-cache';
import type { IntrospectionConfig } from '../config/oidc-schema.js';
import { IdentityProviderUnavailable } from '../errors.js';
import type { GatewayEvents } from '../telemetry/events.js';
import type { Logger } from '../telemetry/logger.js';
import { OutlierDetector, breakerSettings } from '../upstream/resilience/outlier.js';
import { refusalLabel } from '../upstream/resilience/balancer.js';
import { isForwardableSubject } from '../config/identity-values.js';
import { rolesFrom } from './jwt-verifier.js';

export interface Introspected {
  active: boolean;
  sub: string | undefined;
  roles: string[];
  claims: Record<string, unknown>;
}

/**
 * The introspection endpoint's name where upstreams are named (metrics, logs). Upstream names
 * cannot hold a dot, so it never collides with a configured one.
 */
export const INTROSPECTION_UPSTREAM = 'auth.introspection';

/** Where the endpoint's breaker reports. */
export interface IntrospectorOptions {
  /** Breaker states and refused lookups, reported like an upstream's. @default none */
  events?: Pick<GatewayEvents, 'onTargetState' | 'onBreakerState' | 'onCallRefused'>;
  /** Receives a warning when the breaker opens, half-opens or closes. @default none */
  logger?: Pick<Logger, 'warn'>;
}

const INACTIVE: Introspected = Object.freeze({ active: false, sub: undefined, roles: [], claims: {} }) as Introspected;

export class Introspector {
  readonly #cfg: IntrospectionConfig;
  readonly #config: oidc.Configuration;
  readonly #cache: LRUCache<string, Introspected> | undefined;
  readonly #inflight = new Map<string, Promise<Introspected>>();
  readonly #breaker: OutlierDetector;
  readonly #events: IntrospectorOptions['events'];

  constructor(cfg: IntrospectionConfig, opts: IntrospectorOptions = {}) {
    this.#cfg = cfg;
    const endpoint = new URL(cfg.endpoint);
    const { events, logger } = opts;
    this.#events = events;
    // The target label: the endpoint without credentials or query.
    this.#breaker = new OutlierDetector(INTROSPECTION_UPSTREAM, [endpoint.origin + endpoint.pathname], breakerSettings(cfg.breaker), {
      onTargetState(u, target, state, ejectMs) {
        events?.onTargetState(u, target, state, ejectMs);
      },
      onCircuitState(u, state) {
        events?.onBreakerState(u, state);
        logger?.warn({ upstream: u, circuit: state }, `introspection endpoint circuit ${state}`);
      },
    });
    this.#config = new oidc.Configuration({ issuer: endpoint.origin, introspection_endpoint: cfg.endpoint }, cfg.clientId, undefined, oidc.ClientSecretBasic(cfg.clientSecret));
    this.#config.timeout = Math.max(1, Math.ceil(cfg.timeoutMs / 1000));
    if (endpoint.protocol === 'http:') oidc.allowInsecureRequests(this.#config);
    this.#cache = cfg.cacheMaxEntries > 0 ? new LRUCache({ max: cfg.cacheMaxEntries }) : undefined;
  }

  /** The cached answer for `token`, when there is one (synchronous: the hot path stays synchronous). */
  remembered(token: string): Introspected | undefined {
    return this.#cache?.get(digest(token));
  }

  introspect(token: string): Promise<Introspected> {
    const key = digest(token);
    const hit = this.#cache?.get(key);
    if (hit) return Promise.resolve(hit);
    let p = this.#inflight.get(key);
    if (!p) {
      p = this.#call(key, token).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  async #call(key: string, token: string): Promise<Introspected> {
    const now = Date.now();
    if (!this.#breaker.canServe(0, now)) {
      const reason = this.#breaker.refusal(now);
      this.#events?.onCallRefused(INTROSPECTION_UPSTREAM, refusalLabel(reason));
      throw IdentityProviderUnavailable(`the introspection endpoint is failing (${reason})`);
    }
    const admission = this.#breaker.admit(0);
    let answer: oidc.IntrospectionResponse;
    try {
      answer = await oidc.tokenIntrospection(this.#config, token);
    } catch (err) {
      // Only the endpoint's faults count: a 4xx (our credentials refused) is an answer, but not a usable one.
      const status = err instanceof oidc.ResponseBodyError ? err.status : 0;
      this.#breaker.record(0, status === 0 || status >= 500, Date.now(), admission);
      throw IdentityProviderUnavailable(`introspection: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.#breaker.record(0, false, Date.now(), admission);
    const result = answer.active ? activeResult(answer, this.#cfg.rolesClaim) : INACTIVE;
    const ttl = this.#ttlMs(answer);
    if (this.#cache && ttl > 0) this.#cache.set(key, result, { ttl });
    return result;
  }

  #ttlMs(answer: oidc.IntrospectionResponse): number {
    const max = this.#cfg.cacheTtlSec * 1000;
    if (!answer.active) return max;
    if (typeof answer.exp !== 'number') return max;
    return Math.min(max, Math.floor((answer.exp * 1000 - Date.now()) / 2));
  }

}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function activeResult(a: oidc.IntrospectionResponse, rolesClaim: string): Introspected {
  // The same reading as for a JWT: dotted claim paths, lists or space/comma strings.
  const roles = rolesFrom(a as Record<string, unknown>, rolesClaim);
  // The subject travels upstream as X-User-Id: a token whose sub cannot is refused like an inactive one.
  if (typeof a.sub === 'string' && !isForwardableSubject(a.sub)) return INACTIVE;
  return { active: true, sub: typeof a.sub === 'string' ? a.sub : undefined, roles, claims: a as Record<string, unknown> };
}
