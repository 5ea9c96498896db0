/**
 * RFC 7662 token introspection for opaque (non-JWT) bearer tokens, through openid-client.
 *
 * - Answers are cached by a digest of the token (never the token itself), for at most
 *   `cacheTtlSec` and never past half of the token's remaining life (`exp`), so a cached
 *   "active" can never outlive the token; the cache holds at most `cacheMaxEntries` answers.
 *   Concurrent lookups of one token share one call.
 * - The endpoint sits behind its own small breaker: `failureThreshold` consecutive failures
 *   (no answer, timeout, 5xx) open it; for `openMs` lookups fail at once with IDP_UNAVAILABLE;
 *   then one trial call decides (success closes it, failure opens it again).
 */
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { LRUCache } from 'lru-cache';
import type { IntrospectionConfig } from '../config/oidc-schema.js';
import { IdentityProviderUnavailable } from '../errors.js';
import { isForwardableSubject } from '../config/identity-values.js';
import { rolesFrom } from './jwt-verifier.js';

export interface Introspected {
  active: boolean;
  sub: string | undefined;
  roles: string[];
  claims: Record<string, unknown>;
}

const INACTIVE: Introspected = Object.freeze({ active: false, sub: undefined, roles: [], claims: {} }) as Introspected;

export class Introspector {
  readonly #cfg: IntrospectionConfig;
  readonly #config: oidc.Configuration;
  readonly #cache: LRUCache<string, Introspected> | undefined;
  readonly #inflight = new Map<string, Promise<Introspected>>();
  #failures = 0;
  #openUntil = 0;
  #trial = false;

  constructor(cfg: IntrospectionConfig) {
    this.#cfg = cfg;
    const endpoint = new URL(cfg.endpoint);
    this.#config = new oidc.Configuration({ issuer: endpoint.origin, introspection_endpoint: cfg.endpoint }, cfg.clientId, undefined, oidc.ClientSecretBasic(cfg.clientSecret));
    this.#config.timeout = Math.max(1, Math.ceil(cfg.timeoutMs / 1000));
    if (endpoint.protocol === 'http:') oidc.allowInsecureRequests(this.#config);
    this.#cache = cfg.cacheMaxEntries > 0 ? new LRUCache({ max: cfg.cacheMaxEntries }) : undefined;
  }

  /** The breaker's state, for tests and logs. */
  get breaker(): 'closed' | 'open' | 'half-open' {
    if (this.#failures < this.#cfg.breaker.failureThreshold) return 'closed';
    return Date.now() < this.#openUntil ? 'open' : 'half-open';
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
    const state = this.breaker;
    if (state === 'open' || (state === 'half-open' && this.#trial)) {
      throw IdentityProviderUnavailable('the introspection endpoint is failing (breaker open)');
    }
    if (state === 'half-open') this.#trial = true;
    let answer: oidc.IntrospectionResponse;
    try {
      answer = await oidc.tokenIntrospection(this.#config, token);
    } catch (err) {
      // Only the endpoint's faults count: a 4xx (our credentials refused) is an answer, but not a usable one.
      const status = err instanceof oidc.ResponseBodyError ? err.status : 0;
      if (status === 0 || status >= 500) this.#failed();
      else this.#succeeded();
      throw IdentityProviderUnavailable(`introspection: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.#trial = false;
    }
    this.#succeeded();
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

  #failed(): void {
    this.#failures++;
    if (this.#failures >= this.#cfg.breaker.failureThreshold) this.#openUntil = Date.now() + this.#cfg.breaker.openMs;
  }

  #succeeded(): void {
    this.#failures = 0;
    this.#openUntil = 0;
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
