/**
 * What a cached passthrough answer may be reused for (RFC 9111 §4.1, §3.5), decided once per
 * request before the cache is looked at:
 *
 * - The primary key holds the method, scheme, host (lower-cased Host header), route, the
 *   normalised path and the query, plus every client header known to steer an upstream's
 *   idea of "where am I" or "what method is this" (X-Forwarded-Host, Forwarded, X-Original-URL,
 *   method overrides …). Those are keyed whether or not the gateway forwards them, so a
 *   poisoned value can only ever come back to a caller who sent the same value.
 * - A request with two Host fields, or a GET with a body, is not cached (neither has one key).
 * - A request that carries a credential (any of {@link CREDENTIAL_HEADERS} or the configured
 *   API-key header, as forwarded, or any verified identity) on a route without `auth` is not cached at all, in
 *   either direction: a shared cache must not hand one caller what was fetched with another's
 *   credentials, and an anonymous key cannot tell them apart.
 * - On a route with `auth` (or `roles`), the key holds the identity (kind, subject, client id,
 *   roles) and a digest of every other forwarded credential (Cookie …), so entries are never
 *   shared across callers.
 *
 * The request view handed to http-cache-semantics is the one the upstream sees for Vary:
 * client headers, with the gateway's identity headers in place of any the client sent.
 */
import type CachePolicy from 'http-cache-semantics';
import { sha256Hex } from '../hash.js';
import { IDENTITY_HEADERS, writeIdentityHeaders } from '../http/reserved-headers.js';
import type { RequestContext } from '../context.js';
import { routedPath } from './proxy-handler.js';
import { hasRequestBody } from './request-body.js';
import type { CompiledRoute } from './route-table.js';

/**
 * Client headers that upstream frameworks commonly read to build absolute URLs, pick a
 * tenant or override the method: "unkeyed inputs" in cache-poisoning terms. All lower-case.
 */
const STEERING_HEADERS = [
  'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-scheme', 'x-forwarded-port', 'x-forwarded-prefix',
  'x-forwarded-server', 'x-forwarded-ssl', 'x-host', 'x-original-host', 'forwarded', 'x-original-url',
  'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override', 'front-end-https',
];

/**
 * Request headers that carry a credential even when the gateway does not know them (its own
 * API-key header is added from the config): an upstream may answer per caller from any of them.
 */
const CREDENTIAL_HEADERS = [
  'authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token', 'x-access-token',
  'x-session-token', 'x-session-id',
];

export interface CacheKeyOptions {
  /** Routes whose entries are partitioned by identity (`auth` other than none, or `roles`). */
  identityRoutes: ReadonlySet<string>;
  /** Lower-case API-key header name, when API keys are configured. */
  apiKeyHeader: string | undefined;
}

export type CacheDecision =
  | { bypass: true }
  | { bypass: false; key: string; request: CachePolicy.Request };

function headerText(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The client's request headers as http-cache-semantics should see them (string values, identity as forwarded). */
function policyHeaders(ctx: RequestContext, host: string, hidden: ReadonlySet<string>): CachePolicy.Headers {
  const out: CachePolicy.Headers = {};
  const inHeaders = ctx.req.headers;
  for (const name in inHeaders) {
    if (hidden.has(name)) continue;
    out[name] = headerText(inHeaders[name]);
  }
  out.host = host;
  writeIdentityHeaders(out, ctx.identity, false);
  return out;
}

/** Compiles the rules once; the returned function decides per request. */
export function createCacheKeyer(opts: CacheKeyOptions): (ctx: RequestContext, route: CompiledRoute) => CacheDecision {
  const credentialHeaders = [...new Set([...CREDENTIAL_HEADERS, ...(opts.apiKeyHeader ? [opts.apiKeyHeader] : [])])];
  // On identity routes these stand for the verified identity already; any other credential goes into the key.
  const asIdentity = new Set(['authorization', ...(opts.apiKeyHeader ? [opts.apiKeyHeader] : [])]);
  const unverified = credentialHeaders.filter((name) => !asIdentity.has(name));
  // Credentials are represented by the key, never compared or kept as header values.
  const hidden = new Set([...credentialHeaders, ...IDENTITY_HEADERS]);

  return (ctx, route) => {
    const h = ctx.req.headers;
    // Two Host fields have two readings (RFC 9112 §3.2); node keeps the first, an upstream may keep another.
    const hosts = ctx.req.headersDistinct?.host;
    if (hosts && hosts.length > 1) return { bypass: true };
    // A GET body is forwarded and may shape the answer, but it is not in the key.
    if (hasRequestBody(ctx.req)) return { bypass: true };
    const byIdentity = opts.identityRoutes.has(route.name);
    const id = ctx.identity;
    if (!byIdentity) {
      if (id && id.kind !== 'anonymous') return { bypass: true };
      for (const name of credentialHeaders) {
        if (h[name] !== undefined && !route.requestHeaders.remove.has(name)) return { bypass: true };
      }
    }
    const host = (h.host ?? '').toLowerCase();
    const scheme = (ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const path = routedPath(ctx);
    const url = ctx.query ? `${path}?${ctx.query}` : path;
    const parts = [ctx.method, scheme, host, route.name, url];
    for (const name of STEERING_HEADERS) {
      const v = headerText(h[name]);
      parts.push(v === undefined ? '' : `${name}=${v.toLowerCase()}`);
    }
    if (byIdentity) {
      parts.push(id ? `${id.kind}|${id.subject ?? ''}|${id.clientId}|${[...id.roles].sort().join(',')}` : `ip|${ctx.ip}`);
      for (const name of unverified) {
        const v = headerText(h[name]);
        parts.push(v !== undefined && !route.requestHeaders.remove.has(name) ? `${name}=${sha256Hex(v)}` : '');
      }
    }
    return { bypass: false, key: parts.join('\n'), request: { method: ctx.method, url, headers: policyHeaders(ctx, host, hidden) } };
  };
}

/** The Vary field names of a response, lower-case, sorted, without duplicates; `['*']` when any is `*`. */
export function varyFields(vary: unknown): string[] {
  if (vary === undefined || vary === null) return [];
  const text = Array.isArray(vary) ? vary.join(',') : String(vary);
  const names = new Set<string>();
  for (const raw of text.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '*') return ['*'];
    if (t) names.add(t);
  }
  return [...names].sort();
}

/** The secondary key of one variant: the primary key plus each varied request header's value. */
export function variantKey(primary: string, fields: readonly string[], request: CachePolicy.Request): string {
  return `${primary}\nvary:${fields.map((f) => `${f}=${request.headers[f] ?? ''}`).join('\n')}`;
}
