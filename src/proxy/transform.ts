/**
 * `routes[].transform`: query operations and JSON body mapping with JSONata, both directions
 * (e.g. a v2 client in front of a v1 backend). Every expression is compiled once at start-up;
 * each evaluation is bounded by `timeoutMs` and a depth guard (jsonata's own guardrails).
 *
 * The rule for bodies: only an identity-encoded JSON body (`application/json` or `*+json`) no
 * larger than `maxBodyBytes` is mapped. A request body that is not one is refused (413/415)
 * unless `request.onUnmappable: pass`; the upstream is asked for identity-encoded answers on a
 * route that maps them (proxy-handler.ts), without Range. A JSON answer that cannot be mapped
 * anyway (compressed, larger, not parseable, a 206 part) is a 502 TRANSFORM_FAILED unless
 * `response.onUnmappable: pass`; answers of other media types, and to HEAD, 204 or 304, pass
 * through untouched, byte for byte. A
 * mapped body gets its own Content-Length; validators and digests of the old bytes (ETag,
 * Content-MD5, Digest, Content-Digest, Repr-Digest) are dropped.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import jsonata from 'jsonata';
import type { RouteConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import { BadRequest, PayloadTooLarge, TransformFailed, UnsupportedMediaType, UpstreamError } from '../errors.js';
import { hasRequestBody } from './request-body.js';
import type { BodyMapping, CompiledRoute, RouteTransform } from '../http/route.js';
import { compileQueryOps } from './query-ops.js';
import { isReservedHeader } from '../http/reserved-headers.js';
import { isJsonMediaType } from '../http/media-type.js';

/** Deepest evaluation nesting (jsonata's `stack` guardrail): a runaway recursion stops here. */
const MAX_DEPTH = 500;
/** Longest sequence an expression may build (jsonata's `sequence` guardrail). */
const MAX_SEQUENCE = 1_000_000;

/** Headers describing the old bytes of a body that has been replaced. */
const STALE = ['etag', 'content-md5', 'digest', 'content-digest', 'repr-digest'];

function compileMapping(source: string, timeoutMs: number): BodyMapping {
  const expr = jsonata(source, { timeout: timeoutMs, stack: MAX_DEPTH, sequence: MAX_SEQUENCE });
  return { source, evaluate: (input, bindings) => expr.evaluate(input, bindings) };
}

export function compileTransform(cfg: RouteConfig['transform']): RouteTransform | null {
  if (!cfg) return null;
  const q = cfg.request.query;
  const hasQuery = q !== undefined && (q.remove.length > 0 || Object.keys(q.add).length > 0 || Object.keys(q.rename).length > 0);
  return {
    query: hasQuery ? compileQueryOps(q) : null,
    requestBody: cfg.request.body ? compileMapping(cfg.request.body, cfg.timeoutMs) : null,
    responseBody: cfg.response.body ? compileMapping(cfg.response.body, cfg.timeoutMs) : null,
    maxBodyBytes: cfg.maxBodyBytes,
    passUnmappable: cfg.request.onUnmappable === 'pass',
    passUnmappableResponse: cfg.response.onUnmappable === 'pass',
  };
}

function identityEncoded(value: string | string[] | number | undefined): boolean {
  return value === undefined || (typeof value === 'string' && value.trim().toLowerCase() === 'identity');
}

/** The declared length, or -1 when none is declared. */
function declaredLength(value: string | string[] | number | undefined): number {
  if (value === undefined) return -1;
  const n = Number(value);
  return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
}

/**
 * How many bytes of the request body to read before deciding (0: this body passes through
 * untouched, read the way any passthrough body is). A body the route cannot map from its head
 * alone (not JSON, compressed, declared over maxBodyBytes) is refused here, before it is read,
 * unless the route says `onUnmappable: pass`: otherwise a client could skip the mapping.
 */
export function requestMappingWindow(req: IncomingMessage, t: RouteTransform): number {
  if (!t.requestBody || !hasRequestBody(req)) return 0;
  const h = req.headers;
  if (!isJsonMediaType(h['content-type'])) {
    if (t.passUnmappable) return 0;
    throw UnsupportedMediaType(`${mediaTypeOf(h['content-type']) || '(none)'} (this route maps JSON request bodies only)`);
  }
  if (!identityEncoded(h['content-encoding'])) {
    if (t.passUnmappable) return 0;
    throw UnsupportedMediaType(`${mediaTypeOf(h['content-type'])} with Content-Encoding ${String(h['content-encoding'])} (this route maps uncompressed bodies only)`);
  }
  if (declaredLength(h['content-length']) > t.maxBodyBytes) {
    if (t.passUnmappable) return 0;
    throw PayloadTooLarge(t.maxBodyBytes);
  }
  return t.maxBodyBytes;
}

/** True when a body read for mapping turned out unmappable (longer than the window) and the route refuses that. */
export function refusesUnread(t: RouteTransform, window: number, body: Buffer | Readable | null): boolean {
  if (window === 0 || t.passUnmappable || body === null) return false;
  return !Buffer.isBuffer(body) || body.length > window;
}

function mediaTypeOf(value: string | string[] | undefined): string {
  if (typeof value !== 'string') return '';
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/**
 * What an expression sees as `$request`. The client's headers come without the gateway-owned ones
 * (its `X-User-Id` is as untrusted here as anywhere); the verified caller is `identity`.
 */
function requestBinding(ctx: RequestContext): Record<string, unknown> {
  const headers: Record<string, string | string[]> = {};
  const inHeaders = ctx.req.headers;
  for (const name in inHeaders) if (!isReservedHeader(name)) headers[name] = inHeaders[name]!;
  const id = ctx.identity;
  return {
    id: ctx.id,
    method: ctx.method,
    path: ctx.normalizedPath?.path ?? ctx.path,
    query: Object.fromEntries(new URLSearchParams(ctx.query)),
    headers,
    identity: id && id.kind !== 'anonymous' ? { kind: id.kind, subject: id.subject, roles: id.roles, clientId: id.clientId } : null,
  };
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e && typeof e === 'object' && e.message ? `${e.code ? `${e.code}: ` : ''}${e.message}` : String(err);
}

function serialise(value: unknown): Buffer {
  return value === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * Maps a JSON request body read whole (at most `maxBodyBytes`). A body that is not JSON, or an
 * expression that fails on it, is the client's 400. Drops the headers that described the old bytes.
 */
export async function mapRequestBody(ctx: RequestContext, route: CompiledRoute, body: Buffer, headers: Record<string, string | string[]>): Promise<Buffer> {
  const t = route.transform!;
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    throw BadRequest('the request body is not valid JSON');
  }
  let out: unknown;
  try {
    out = await t.requestBody!.evaluate(input, { request: requestBinding(ctx) });
  } catch (err) {
    throw BadRequest(`the request body could not be mapped for route ${route.name}: ${describe(err)}`);
  }
  for (const h of STALE) delete headers[h];
  return serialise(out);
}

/** True when an upstream answer is one the route maps. */
function mapsResponse(ctx: RequestContext, route: CompiledRoute, t: RouteTransform, status: number, headers: IncomingHttpHeaders): boolean {
  if (ctx.method === 'HEAD' || status === 204 || status === 304) return false;
  if (!isJsonMediaType(headers['content-type'])) return false;
  // A JSON answer from here on: one the route cannot map must not reach the client unmapped
  // (the mapping may be what removes a field), unless the route says `onUnmappable: pass`.
  if (status === 206) return unmappable(route, t, 'a partial (206) answer');
  if (!identityEncoded(headers['content-encoding'])) return unmappable(route, t, 'a compressed answer');
  if (declaredLength(headers['content-length']) > t.maxBodyBytes) return unmappable(route, t, `an answer over ${t.maxBodyBytes} bytes`);
  return true;
}

/** false (pass it on as it is) when the route allows that, else the 502. */
function unmappable(route: CompiledRoute, t: RouteTransform, what: string): false {
  if (t.passUnmappableResponse) return false;
  throw TransformFailed(route.name, `${what} cannot be mapped`);
}

/** Replays the chunks read so far, then the rest of the stream. */
function replay(head: Buffer[], rest: AsyncIterator<Buffer>, source: Readable): Readable {
  const out = Readable.from((async function* () {
    yield* head;
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
  })());
  out.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  return out;
}

/**
 * The answer's body as the client receives it: mapped (a Buffer, `headers` updated) when the
 * route maps it, else the upstream's stream (with the bytes read while deciding put back).
 * An answer that does not parse as JSON passes through untouched; a failing expression is 502
 * TRANSFORM_FAILED.
 */
export async function mapResponseBody(ctx: RequestContext, route: CompiledRoute, status: number, headers: OutgoingHttpHeaders, body: Readable): Promise<Buffer | Readable> {
  const t = route.transform!;
  if (!mapsResponse(ctx, route, t, status, headers as IncomingHttpHeaders)) return body;
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      chunks.push(r.value);
      size += r.value.length;
      if (size > t.maxBodyBytes) {
        tooLarge = true;
        break;
      }
    }
  } catch (err) {
    throw UpstreamError(route.upstream, 'a body that broke off').asUpstreamFailure(err);
  }
  if (tooLarge) {
    if (t.passUnmappableResponse) return replay(chunks, it, body);
    throw TransformFailed(route.name, `an answer over ${t.maxBodyBytes} bytes cannot be mapped`);
  }
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  let input: unknown;
  try {
    input = JSON.parse(raw.toString('utf8'));
  } catch {
    if (!t.passUnmappableResponse) throw TransformFailed(route.name, 'an answer that claims JSON but does not parse cannot be mapped');
    return Readable.from([raw]);
  }
  let out: unknown;
  try {
    out = await t.responseBody!.evaluate(input, { request: requestBinding(ctx), status, upstream: route.upstream });
  } catch (err) {
    throw TransformFailed(route.name, describe(err));
  }
  for (const h of STALE) delete headers[h];
  const mapped = serialise(out);
  headers['content-length'] = String(mapped.length);
  if (out === undefined) delete headers['content-type'];
  return mapped;
}
