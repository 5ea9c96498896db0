/**
 * Passthrough: streams a matched request to its route's upstream through the shared upstream
 * layer (same interceptors as GraphQL resolvers) and streams the answer back. Bodies are never
 * buffered beyond `server.requestBufferBytes` (./request-body.ts); larger ones stream, and at
 * most `maxStreamingUploads` of them hold an upstream's connections at once.
 *
 *   normalise path (before matching) → 400 for a refused path → 415 for a refused media type
 *   → body (413) → rewrite, query ops → headers → request body mapping → upstream call
 *   → response headers → response body mapping → compress/cache → client
 * (the mappings only on a route with `transform`, ./transform.ts)
 */
import type { Readable } from 'node:stream';
import type { RequestContext } from '../context.js';
import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from '../errors.js';
import { clientFault } from '../client-fault.js';
import type { Upstreams } from '../upstream/create-upstreams.js';
import type { HttpResult, UpstreamBody } from '../upstream/types.js';
import { normalizePath } from '../http/normalize-path.js';
import type { CompiledRoute, RouteMatch, RouteTable } from './route-table.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';
import { hasRequestBody, upstreamBody, type BodyLimits } from './request-body.js';
import { sendBuffer, sendStream } from './respond.js';
import { applyQueryOps } from './query-ops.js';
import { mapRequestBody, mapResponseBody, refusesUnread, requestMappingWindow } from './transform.js';
import { proxyGrpc } from './grpc-route.js';
import type { TrustProxy } from '../plugins/use-client-ip.js';
import { splitHost } from '../plugins/use-host-check.js';
import { routingHost } from '../http/route-host.js';
import { closeConnectionAfter } from '../http/close-connection.js';

/** Options for {@link createPassthrough}. */
export interface PassthroughOptions {
  /** Trusted proxies, when the client-ip plugin did not already decide the chain (src/plugins/use-client-ip.ts). @default false */
  trustProxy?: TrustProxy;
  /** Fallback body limit when the body-limit plugin did not set one. @default 1048576 */
  maxBodyBytes?: number;
  /** Longest pause between two body chunks before a 408. @default 10000 */
  bodyTimeoutMs?: number;
  /** Bodies up to this size are read whole before an upstream connection is taken. @default 65536 */
  requestBufferBytes?: number;
}

export interface Passthrough {
  /** Normalises the path and finds the route (see ./normalize-path.ts). */
  match(ctx: RequestContext, table: RouteTable): RouteMatch;
  /** Proxies the request to the route's upstream and answers the client. */
  handle(ctx: RequestContext, route: CompiledRoute, upstreams: Upstreams): Promise<void>;
}

/** The normalised path a passthrough request was routed by (the raw path when it was not routed). */
export function routedPath(ctx: RequestContext): string {
  return ctx.normalizedPath?.path ?? ctx.path;
}

const NO_ROUTE: RouteMatch = { kind: 'none' };

function mediaType(value: string | undefined): string {
  if (!value) return '';
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}

function acceptsType(allowed: ReadonlySet<string>, type: string): boolean {
  if (allowed.has(type)) return true;
  const slash = type.indexOf('/');
  return slash > 0 && allowed.has(`${type.slice(0, slash)}/*`);
}

export function createPassthrough(opts: PassthroughOptions = {}): Passthrough {
  const forward = { trustProxy: opts.trustProxy ?? false };
  const fallbackMax = opts.maxBodyBytes ?? 1_048_576;
  const idleMs = opts.bodyTimeoutMs ?? 10_000;
  const bufferBytes = opts.requestBufferBytes ?? 65_536;

  /** The client's own error, when a failed call was caused by its body (413/408/499). */
  function rethrow(ctx: RequestContext, err: unknown): never {
    // The rest of the body is unread: the connection cannot carry another request.
    if (!ctx.req.complete) closeConnectionAfter(ctx.res);
    throw clientFault(ctx.req) ?? err;
  }

  async function handle(ctx: RequestContext, route: CompiledRoute, upstreams: Upstreams): Promise<void> {
    const norm = ctx.normalizedPath ?? normalizePath(ctx.path);
    if (norm.reject !== undefined) throw BadRequest(norm.reject);
    if (route.contentTypes && hasRequestBody(ctx.req)) {
      const type = mediaType(ctx.req.headers['content-type']);
      if (!acceptsType(route.contentTypes, type)) {
        closeConnectionAfter(ctx.res);
        throw UnsupportedMediaType(type || '(none)');
      }
    }
    const limits: BodyLimits = { max: ctx.maxBodyBytes ?? fallbackMax, idleMs };
    if (route.grpcMethod) return proxyGrpc(ctx, route, upstreams.grpc(route.upstream), limits).catch((err: unknown) => rethrow(ctx, err));

    const t = route.transform;
    // A body the route maps is read whole first (up to transform.maxBodyBytes); others as always.
    let mapWindow = 0;
    if (t !== null) {
      try {
        mapWindow = requestMappingWindow(ctx.req, t);
      } catch (err) {
        closeConnectionAfter(ctx.res);
        throw err;
      }
    }
    let body: Awaited<ReturnType<typeof upstreamBody>>;
    try {
      body = await upstreamBody(ctx.req, limits, mapWindow > bufferBytes ? mapWindow : bufferBytes);
    } catch (err) {
      rethrow(ctx, err);
    }
    if (t !== null && refusesUnread(t, mapWindow, body)) {
      if (!Buffer.isBuffer(body)) (body as Readable).destroy();
      closeConnectionAfter(ctx.res);
      throw PayloadTooLarge(t.maxBodyBytes);
    }
    const query = t?.query ? applyQueryOps(ctx.query, t.query) : ctx.query;
    const path = query ? `${route.rewrite(norm.path)}?${query}` : route.rewrite(norm.path);
    const headers = upstreamRequestHeaders(ctx, route, forward);
    // A compressed answer is never mapped: the client's Accept-Encoding must not let it skip the mapping.
    if (t?.responseBody) {
      // Mappable answers: whole and uncompressed, whatever the client asked (it gets the mapped body).
      headers['accept-encoding'] = 'identity';
      delete headers.range;
      delete headers['if-range'];
    }
    if (mapWindow > 0 && Buffer.isBuffer(body) && body.length <= mapWindow) body = await mapRequestBody(ctx, route, body, headers);
    if (body !== null && Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    const up = upstreams.http(route.upstream);
    const call = up.call(ctx, ctx.method, path, body, headers, route.config.timeoutMs ?? up.config.timeoutMs);
    const streamed = body !== null && !Buffer.isBuffer(body);
    // A streamed body is consumed as it is sent: the call can never be replayed (retries look at this).
    if (streamed) call.idempotent = false;
    let release: (() => void) | undefined;
    let result: HttpResult;
    try {
      if (streamed) release = await up.uploadSlot(call.deadline);
      result = await up.request(call);
    } catch (err) {
      release?.();
      if (streamed) (body as Readable).destroy();
      rethrow(ctx, err);
    }
    // A streamed call (not readJson) always has its body to pass on.
    const upBody = result.body!;
    if (release) upBody.onClose(release);
    ctx.upstreamCalls++;
    const out = clientResponseHeaders(result.headers, route.responseHeaders, ctx, route, result.statusCode);
    let answer: UpstreamBody | Readable | Buffer = upBody;
    if (t?.responseBody) {
      try {
        // The mapping reads a stream: only here is the body adapted to one.
        answer = await mapResponseBody(ctx, route, result.statusCode, out, upBody.readable());
      } catch (err) {
        upBody.destroy();
        throw err;
      }
    }
    try {
      if (Buffer.isBuffer(answer)) sendBuffer(ctx, result.statusCode, out, answer);
      else sendStream(ctx, result.statusCode, out, answer);
    } catch (err) {
      upBody.destroy();
      throw err;
    }
  }

  return {
    match(ctx, table) {
      const norm = (ctx.normalizedPath ??= normalizePath(ctx.path));
      if (norm.reject !== undefined) return NO_ROUTE;
      // Routed by the Host the gateway received (HTTP/2: :authority), in the host check's reading;
      // a Host it refuses matches only host-less routes, and the host check answers 400 anyway.
      let host: string | undefined;
      if (table.byHost) {
        const h = ctx.req.headers.host ?? (ctx.req.headers[':authority'] as string | undefined);
        const split = h === undefined ? undefined : splitHost(h);
        host = split && routingHost(split[0]);
      }
      if (table.caseConflict(norm.path, host)) {
        ctx.normalizedPath = { path: undefined, reject: 'path differs from a route path only in letter case' };
        return NO_ROUTE;
      }
      return table.match({
        method: ctx.method,
        path: norm.path,
        host,
        headers: ctx.req.headers,
        query: ctx.query,
      });
    },
    handle,
  };
}
