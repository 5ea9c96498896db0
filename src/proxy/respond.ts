/**
 * Writes an upstream (or cached) answer to the client: merges `Vary` with what earlier plugins
 * set (CORS), lets the response cache observe the body, compresses when negotiated, and
 * streams with back-pressure. Nothing here buffers a streamed body.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RequestContext } from '../context.js';
import { compressionFor, createEncoder } from '../plugins/use-compression.js';
import { mergeVary } from './forward-headers.js';

/** ctx.state key of a {@link ResponseTap} (set by the response cache on a miss it will fill). */
export const RESPONSE_TAP_KEY = 'proxy.responseTap';

/** Sees a passthrough response before it is written (the body may be observed, never consumed). */
export interface ResponseTap {
  tap(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): void;
}

function withVary(ctx: RequestContext, headers: OutgoingHttpHeaders, token?: string): void {
  let vary: string | undefined = headers.vary === undefined ? undefined : String(headers.vary);
  const set = ctx.res.getHeader('vary');
  if (set !== undefined) for (const t of String(set).split(',')) vary = mergeVary(vary, t.trim());
  if (token) vary = mergeVary(vary, token);
  if (vary !== undefined) headers.vary = vary;
}

/** Streams a response body to the client, compressed when the client and the media type allow it. */
export async function sendStream(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): Promise<void> {
  const tap = ctx.state[RESPONSE_TAP_KEY] as ResponseTap | undefined;
  if (tap) tap.tap(ctx, status, headers, body);
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
    await pipeline(body, res);
    return;
  }
  headers['content-encoding'] = enc;
  delete headers['content-length'];
  withVary(ctx, headers, 'Accept-Encoding');
  res.writeHead(status, headers);
  await pipeline(body, createEncoder(enc), res);
}

/** Writes a complete body (a cache hit). */
export function sendBuffer(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Buffer): Promise<void> {
  return sendStream(ctx, status, { ...headers, 'content-length': String(body.length) }, Readable.from([body]));
}
