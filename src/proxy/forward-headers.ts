/**
 * Header hygiene for passthrough, in both directions (RFC 9110 §7.6.1): hop-by-hop headers and
 * those the `Connection` header names are dropped; the gateway's own forwarding headers,
 * request id, W3C trace context and verified identity are set; the route's
 * `requestHeaders` / `responseHeaders` operations (./header-ops.ts: remove, rename, add) apply last.
 */
import { randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ForwardedChain, RequestContext } from '../context.js';
import { createClientAddressResolver, type TrustProxy } from '../plugins/use-client-ip.js';
import { isValidHost } from '../plugins/use-host-check.js';
import type { CompiledRoute, HeaderOps } from './route-table.js';
import { applyRenames, applyRendered, passesHeader } from './header-ops.js';
import { writeIdentityHeaders } from '../http/reserved-headers.js';

export { isReservedHeader } from '../http/reserved-headers.js';

/** Header names listed in a `Connection` header, other than the usual keep-alive/close. */
function connectionNamed(value: string | string[] | undefined): Set<string> | undefined {
  // What nearly every client sends: nothing to look for.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  const v = Array.isArray(value) ? value.join(',') : value;
  let out: Set<string> | undefined;
  for (const raw of v.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t && t !== 'keep-alive' && t !== 'close') (out ??= new Set()).add(t);
  }
  return out;
}

/**
 * Random ids come from a pre-filled pool (as crypto.randomUUID does internally): one
 * randomFillSync per 4 KiB instead of one per id, which showed up at ~6% of CPU in profiles.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** W3C traceparent for the upstream hop: the caller's trace id (or a new one), a new span id. */
export function nextTraceparent(incoming: string | string[] | undefined, traceId: string | undefined): string {
  let flags = '01';
  let trace = traceId;
  if (typeof incoming === 'string') {
    const m = TRACEPARENT.exec(incoming.trim());
    if (m && m[1] !== '00000000000000000000000000000000' && m[2] !== '0000000000000000') {
      trace ??= m[1];
      flags = m[3]!;
    }
  }
  trace ??= randomHex(16);
  return `00-${trace}-${randomHex(8)}-${flags}`;
}

export interface ForwardOptions {
  /**
   * Trusted proxies, used only when the client-ip plugin did not run (it normally decides the
   * chain once per request, see src/plugins/use-client-ip.ts). @default false
   */
  trustProxy?: TrustProxy;
}

const fallbackResolvers = new WeakMap<ForwardOptions, ReturnType<typeof createClientAddressResolver>>();

function forwardedChain(ctx: RequestContext, opts: ForwardOptions): ForwardedChain {
  if (ctx.forwarded) return ctx.forwarded;
  let resolve = fallbackResolvers.get(opts);
  if (!resolve) fallbackResolvers.set(opts, (resolve = createClientAddressResolver(opts.trustProxy)));
  return resolve(ctx.req).chain;
}

/** `http` or `https` from a single-valued X-Forwarded-Proto, else undefined. */
function forwardedProto(v: string | string[] | undefined): string | undefined {
  if (typeof v !== 'string') return undefined;
  const p = v.trim().toLowerCase();
  return p === 'http' || p === 'https' ? p : undefined;
}

/** The headers the upstream receives. */
export function upstreamRequestHeaders(ctx: RequestContext, route: CompiledRoute, opts: ForwardOptions = {}): Record<string, string | string[]> {
  const inHeaders = ctx.req.headers;
  const named = connectionNamed(inHeaders.connection);
  const ops = route.requestHeaders;
  const out: Record<string, string | string[]> = {};
  for (const name in inHeaders) {
    if (!passesHeader(name, ops) || named?.has(name)) continue;
    out[name] = inHeaders[name]!;
  }
  if (ops.rename !== null) applyRenames(out, ops.rename);
  const chain = forwardedChain(ctx, opts);
  // The believed chain only: the client, the trusted proxies, the peer; nothing the client wrote left of that.
  out['x-forwarded-for'] = chain.hops.length ? chain.hops.join(', ') : ctx.ip;
  // Scheme and host as a trusted proxy saw them; from anyone else, as this connection shows them.
  const proto = chain.peerTrusted ? forwardedProto(inHeaders['x-forwarded-proto']) : undefined;
  out['x-forwarded-proto'] = proto ?? ((ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  const fhost = chain.peerTrusted ? inHeaders['x-forwarded-host'] : undefined;
  const host = typeof fhost === 'string' && isValidHost(fhost) ? fhost : inHeaders.host;
  if (host) out['x-forwarded-host'] = host;
  out['x-request-id'] = ctx.id;
  out.traceparent = nextTraceparent(inHeaders.traceparent, ctx.traceId);
  writeIdentityHeaders(out, ctx.identity, true);
  for (const [name, value] of ops.add) out[name] = value;
  if (ops.render !== null) applyRendered(out, ops, ctx, route, 0);
  return out;
}

/**
 * The upstream's response headers as the client receives them (before compression). `ctx`,
 * `route` and `status` feed the templates of `ops.add` (a route without templates never reads them).
 */
export function clientResponseHeaders(headers: IncomingHttpHeaders, ops: HeaderOps, ctx?: RequestContext, route?: CompiledRoute, status = 0): OutgoingHttpHeaders {
  const named = connectionNamed(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (!passesHeader(name, ops) || named?.has(name)) continue;
    out[name] = headers[name];
  }
  if (ops.rename !== null) applyRenames(out, ops.rename);
  for (const [name, value] of ops.add) out[name] = value;
  if (ops.render !== null && ctx && route) applyRendered(out, ops, ctx, route, status);
  return out;
}

/** Adds tokens to a Vary value without repeating one. */
export function mergeVary(current: unknown, token: string): string {
  if (current === undefined || current === null || current === '') return token;
  const s = Array.isArray(current) ? current.join(', ') : String(current);
  if (s === '*') return s;
  const lower = token.toLowerCase();
  for (const t of s.split(',')) if (t.trim().toLowerCase() === lower) return s;
  return `${s}, ${token}`;
}
