/**
 * Writes an upstream (or cached) answer to the client: merges `Vary` with what earlier plugins
 * set (CORS), lets the response cache observe the body, compresses when negotiated, and
 * streams with back-pressure. Nothing here buffers a streamed body.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { Readable, type Writable } from 'node:stream';
import { StateKey, type RequestContext } from '../context.js';
import { compressionFor, createEncoder } from '../plugins/use-compression.js';
import { mergeVary } from './forward-headers.js';
import type { UpstreamBody } from '../upstream/types.js';

/** The {@link ResponseTap} of a request (set by the response cache on a miss it will fill). */
export const RESPONSE_TAP = new StateKey<ResponseTap>('proxy.responseTap');

/** Sees a passthrough response before it is written (the body may be observed, never consumed). */
export interface ResponseTap {
  tap(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): void;
}


/**
 * Headers the gateway's plugins already set (request id, CORS, rate-limit fields, X-Cache) win
 * over the upstream's namesakes; `Vary` is merged instead.
 */
function withVary(ctx: RequestContext, headers: OutgoingHttpHeaders, token?: string): void {
  for (const name of ctx.res.getHeaderNames()) if (name !== 'vary') delete headers[name];
  if (ctx.corsOwned) {
    for (const name in headers) if (name.startsWith('access-control-')) delete headers[name];
  }
  let vary: string | undefined = headers.vary === undefined ? undefined : String(headers.vary);
  const set = ctx.res.getHeader('vary');
  if (set !== undefined) for (const t of String(set).split(',')) vary = mergeVary(vary, t.trim());
  if (token) vary = mergeVary(vary, token);
  if (vary !== undefined) headers.vary = vary;
}

const DEST = Symbol('proxy.dest');
const SRC = Symbol('proxy.src');
type Source = Readable & { [DEST]?: Writable };
type Sink = Writable & { [SRC]?: Readable };

function onSourceError(this: Source, err: Error): void {
  this[DEST]?.destroy(err);
}

function onSinkClose(this: Sink): void {
  const src = this[SRC];
  if (src && !src.readableEnded) src.destroy();
}

/**
 * `src.pipe(dest)` with error and early-close propagation both ways. Used instead of
 * stream.pipeline, whose per-call AbortController (and the DOMException its abort creates)
 * showed up at ~3% of CPU in profiles; these listeners are shared functions, not closures.
 */
function pipeTo(src: Readable, dest: Writable): void {
  (src as Source)[DEST] = dest;
  (dest as Sink)[SRC] = src;
  src.once('error', onSourceError);
  dest.once('close', onSinkClose);
  src.pipe(dest);
}

/**
 * Streams a response body to the client, compressed when the client and the media type allow it.
 * An upstream's body is written straight to the response (or the encoder); it becomes a Node
 * Readable only when the response cache taps it.
 */
export function sendStream(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable | UpstreamBody): void {
  const tap = ctx.get(RESPONSE_TAP);
  if (tap) {
    if (!(body instanceof Readable)) body = body.readable();
    tap.tap(ctx, status, headers, body);
  }
  const enc = compressionFor(ctx, status, headers);
  const res = ctx.res;
  if (!enc) {
    withVary(ctx, headers);
    res.writeHead(status, headers);
    if (ctx.method === 'HEAD') {
      body.resume();
      res.end();
      return;
    }
    if (body instanceof Readable) pipeTo(body, res);
    else body.sendTo(res);
    return;
  }
  headers['content-encoding'] = enc;
  delete headers['content-length'];
  withVary(ctx, headers, 'Accept-Encoding');
  res.writeHead(status, headers);
  const encoder = createEncoder(enc);
  if (body instanceof Readable) pipeTo(body, encoder);
  else body.sendTo(encoder);
  pipeTo(encoder, res);
}

/** Writes a complete body (a cache hit). */
export function sendBuffer(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Buffer): void {
  sendStream(ctx, status, { ...headers, 'content-length': String(body.length) }, Readable.from([body]));
}
