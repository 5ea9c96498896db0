/**
 * The request body a passthrough call sends upstream, with `maxBodyBytes` enforced for both
 * body kinds. A declared `Content-Length` is checked before anything is read (use-body-limit)
 * and bounded by the HTTP parser, so that body streams through as is. A chunked body is read
 * up to a small window first: one that ends inside it is sent whole (so an over-limit small body
 * never reaches the upstream at all); a longer one streams through a counter that aborts the
 * upstream request, unterminated, the moment the limit is crossed.
 */
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { PayloadTooLarge } from '../errors.js';
import type { RequestContext } from '../context.js';

/** Chunked bodies up to this size are read whole before the upstream is called. */
const WINDOW_BYTES = 64 * 1024;

/** ctx.state key set when a streamed body crossed the limit (the upstream error is then a 413). */
export const BODY_TOO_LARGE = 'proxy.bodyTooLarge';

class LimitedBody extends Transform {
  #seen: number;
  readonly #max: number;
  readonly #ctx: RequestContext;

  constructor(ctx: RequestContext, max: number, seen: number) {
    super();
    this.#ctx = ctx;
    this.#max = max;
    this.#seen = seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#max) {
      this.#ctx.state[BODY_TOO_LARGE] = true;
      cb(PayloadTooLarge(this.#max));
      return;
    }
    cb(null, chunk);
  }
}

/** True when the request carries a body (declared length > 0, or chunked). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

interface Window {
  chunks: Buffer[];
  size: number;
  ended: boolean;
}

function readWindow(req: IncomingMessage, window: number, max: number): Promise<Window> {
  return new Promise((resolve, reject) => {
    const w: Window = { chunks: [], size: 0, ended: false };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      w.chunks.push(chunk);
      w.size += chunk.length;
      if (w.size > max) {
        cleanup();
        req.pause();
        reject(PayloadTooLarge(max));
      } else if (w.size > window) {
        cleanup();
        req.pause();
        resolve(w);
      }
    };
    const onEnd = () => {
      cleanup();
      w.ended = true;
      resolve(w);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}

/**
 * The body to send: null (none), a Buffer (a small chunked body, read whole) or a stream.
 * Throws PAYLOAD_TOO_LARGE when a chunked body crosses `max` inside the window.
 */
export async function upstreamBody(ctx: RequestContext, max: number): Promise<Buffer | Readable | null> {
  const req = ctx.req;
  if (!hasRequestBody(req)) return null;
  if (req.headers['content-length'] !== undefined) return req;
  let w: Window;
  try {
    w = await readWindow(req, Math.min(WINDOW_BYTES, max), max);
  } catch (err) {
    // The rest of the body will not be read: the connection cannot be reused.
    ctx.res.setHeader('Connection', 'close');
    throw err;
  }
  if (w.ended) return w.chunks.length === 1 ? w.chunks[0]! : Buffer.concat(w.chunks, w.size);
  const limited = new LimitedBody(ctx, max, 0);
  for (const c of w.chunks) limited.write(c);
  req.pipe(limited);
  req.once('error', (err) => limited.destroy(err));
  req.once('aborted', () => limited.destroy(new Error('client aborted the request body')));
  return limited;
}
