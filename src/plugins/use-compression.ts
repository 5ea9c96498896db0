/**
 * Response compression (`server.compression`): brotli or gzip, as the client prefers, for
 * compressible media types over a size threshold, with `Vary: Accept-Encoding`. Applies to
 * GraphQL responses (a yoga hook) and to passthrough responses (the proxy asks
 * {@link compressionFor}). An upstream answer that is already encoded is never touched, nor
 * binary media, event streams, or responses marked `Cache-Control: no-transform`.
 */
import { constants as zlib, createBrotliCompress, createGzip, brotliCompress, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Transform } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { StateKey, type RequestContext } from '../context.js';
import type { GatewayPlugin } from './types.js';
import { reproducedByDirectPath } from '../graphql/yoga-http-port.js';

/** Smallest body (bytes) worth compressing unless configured otherwise. */
export const DEFAULT_COMPRESSION_THRESHOLD = 1024;

/** Options for {@link useCompression}. */
export interface CompressionOptions {
  /** Compress at all. @default true */
  enabled?: boolean;
  /** Smallest body (bytes) worth compressing; bodies of unknown length count as large. @default DEFAULT_COMPRESSION_THRESHOLD */
  thresholdBytes?: number;
}

export type Encoding = 'br' | 'gzip';

/** ctx.state key holding the negotiated encoding. */
export const ENCODING = new StateKey<Encoding>('compression.encoding');

const COMPRESSIBLE = /^(?:text\/(?!event-stream)|application\/(?:[\w.+-]*\+)?(?:json|xml|javascript|graphql|x-www-form-urlencoded)\b|image\/svg\+xml)/i;

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);
const BROTLI_PARAMS = { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } };

/** Picks br or gzip from an Accept-Encoding value (q-values honoured; br wins a tie). */
export function negotiateEncoding(accept: string | string[] | undefined): Encoding | undefined {
  if (typeof accept !== 'string' || accept.length === 0) return undefined;
  let br = -1;
  let gz = -1;
  let star = -1;
  for (const part of accept.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const t = p.trim();
      if (t.startsWith('q=')) q = Number(t.slice(2)) || 0;
    }
    if (token === 'br') br = q;
    else if (token === 'gzip' || token === 'x-gzip') gz = q;
    else if (token === '*') star = q;
  }
  if (br < 0) br = star;
  if (gz < 0) gz = star;
  if (br > 0 && br >= gz) return 'br';
  if (gz > 0) return 'gzip';
  return undefined;
}

export function isCompressible(contentType: unknown): boolean {
  return typeof contentType === 'string' && COMPRESSIBLE.test(contentType);
}

function noTransform(cacheControl: unknown): boolean {
  return typeof cacheControl === 'string' && cacheControl.toLowerCase().includes('no-transform');
}

/**
 * The encoding to apply to a passthrough response, or undefined. The caller sets
 * `Content-Encoding`, drops `Content-Length` and pipes through {@link createEncoder}.
 */
export function compressionFor(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, threshold = 1024): Encoding | undefined {
  const enc = ctx.get(ENCODING);
  if (!enc || ctx.method === 'HEAD' || status === 204 || status === 304 || status < 200) return undefined;
  if (headers['content-encoding'] !== undefined || headers['content-range'] !== undefined) return undefined;
  if (!isCompressible(headers['content-type']) || noTransform(headers['cache-control'])) return undefined;
  const len = headers['content-length'];
  if (len !== undefined && Number(len) <= threshold) return undefined;
  return enc;
}

export function createEncoder(enc: Encoding): Transform {
  return enc === 'br' ? createBrotliCompress(BROTLI_PARAMS) : createGzip({ level: 6 });
}

/** Compresses a complete body (a GraphQL answer built in memory). */
export function compressWhole(enc: Encoding, raw: Buffer): Promise<Buffer> {
  return enc === 'br' ? brotliAsync(raw, BROTLI_PARAMS) : gzipAsync(raw);
}

/**
 * The encoding for a complete answer of `size` bytes built in memory (the direct GraphQL path),
 * or undefined: not asked for, not compressible, or not over the threshold.
 */
export function wholeBodyEncoding(acceptEncoding: string | undefined, contentType: unknown, size: number, threshold: number): Encoding | undefined {
  if (size <= threshold || !isCompressible(contentType)) return undefined;
  return negotiateEncoding(acceptEncoding);
}

/** Compresses whole GraphQL responses (they are small and already complete). */
function yogaCompression(threshold: number): YogaPlugin {
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      const enc = negotiateEncoding(request.headers.get('accept-encoding') ?? undefined);
      const headers = response.headers;
      if (!enc || !response.body || headers.has('content-encoding') || !isCompressible(headers.get('content-type'))) return;
      const len = headers.get('content-length');
      if (len !== null && Number(len) <= threshold) return;
      const raw = Buffer.from(await response.arrayBuffer());
      const out = new fetchAPI.Headers(headers);
      out.set('vary', varyWith(headers.get('vary'), 'Accept-Encoding'));
      if (raw.length <= threshold) {
        out.set('content-length', String(raw.length));
        setResponse(new fetchAPI.Response(raw, { status: response.status, statusText: response.statusText, headers: out }));
        return;
      }
      const body = await compressWhole(enc, raw);
      out.set('content-encoding', enc);
      out.set('content-length', String(body.length));
      setResponse(new fetchAPI.Response(new Uint8Array(body), { status: response.status, statusText: response.statusText, headers: out }));
    },
  };
}

function varyWith(current: string | null, token: string): string {
  if (!current) return token;
  return current.toLowerCase().includes(token.toLowerCase()) ? current : `${current}, ${token}`;
}

/** Negotiates the response encoding once per request, and compresses GraphQL answers. */
export function useCompression(opts: CompressionOptions = {}): GatewayPlugin {
  if (opts.enabled === false) return { name: 'compression' };
  const threshold = opts.thresholdBytes ?? DEFAULT_COMPRESSION_THRESHOLD;
  return {
    name: 'compression',
    onRequest(ctx) {
      if (ctx.target.kind !== 'route') return;
      const enc = negotiateEncoding(ctx.req.headers['accept-encoding']);
      if (enc) ctx.set(ENCODING, enc);
    },
    // The direct GraphQL path compresses its answers with the same rule (wholeBodyEncoding, compressWhole).
    yogaPlugins: [reproducedByDirectPath(yogaCompression(threshold), 'the direct path compresses its answers by the same rule')],
  };
}
