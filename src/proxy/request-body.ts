/**
 * Request bodies, read under three bounds: `maxBodyBytes` (413), a pause limit between chunks
 * (`server.bodyTimeoutMs`, 408) and, through node's `requestTimeout`, a limit on the whole
 * request. A client that breaks one of them is marked (src/client-fault.ts), so the failed
 * upstream call it causes is the client's fault, never the upstream's.
 *
 * Passthrough bodies follow nginx's request buffering: a body up to `server.requestBufferBytes`
 * (declared by Content-Length, or chunked and ending inside that window) is read whole BEFORE an
 * upstream connection is taken, so a slow client holds no upstream connection while it dribbles.
 * Larger bodies stream through a guard that enforces the same bounds and aborts the upstream
 * request, unterminated, the moment one is crossed.
 */
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { ClientClosedRequest, PayloadTooLarge, RequestTimeout, type GatewayError } from '../errors.js';
import { markClientFault } from '../client-fault.js';
import { scheduleDeadline, type CallDeadline, type DeadlineReason } from '../upstream/deadline-wheel.js';

/** Bounds for reading one request body. */
export interface BodyLimits {
  /** Largest body in bytes (413 past it). */
  max: number;
  /** Longest pause between two chunks, in ms (408 past it). */
  idleMs: number;
}

/** True when the request carries a body (declared length > 0, or chunked). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  // HTTP/2 frames the body itself (RFC 9113 §8.1): there is one unless the HEADERS frame ended the stream.
  const h2 = (req as IncomingMessage & { stream?: { endAfterHeaders: boolean } }).stream;
  if (h2 !== undefined) return !h2.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined;
}

function fail(req: IncomingMessage, err: GatewayError): GatewayError {
  markClientFault(req, err);
  return err;
}

interface Window {
  chunks: Buffer[];
  size: number;
  ended: boolean;
}

const READER = Symbol('body.reader');
type ReadRequest = IncomingMessage & { [READER]?: WindowReader };

// Listeners shared by every request (no closures per request); each finds its reader on the request.
function onReaderData(this: ReadRequest, chunk: Buffer): void {
  this[READER]?.data(chunk);
}
function onReaderEnd(this: ReadRequest): void {
  this[READER]?.end();
}
function onReaderError(this: ReadRequest): void {
  this[READER]?.stop(fail(this, ClientClosedRequest()));
}
function onReaderClose(this: ReadRequest): void {
  if (!this.complete) this[READER]?.stop(fail(this, ClientClosedRequest()));
}

/**
 * One read of a body window. The pause limit is kept on the shared deadline wheel
 * (src/upstream/deadline-wheel.ts), not a node timer per request: each chunk only notes its time,
 * and when the wheel's entry comes due before the pause is really over, it is set again from the
 * last chunk.
 */
class WindowReader implements Window, DeadlineReason {
  chunks: Buffer[] = [];
  size = 0;
  ended = false;
  #lastData = Date.now();
  #deadline: CallDeadline;
  readonly #req: ReadRequest;
  readonly #window: number;
  readonly #limits: BodyLimits;
  readonly #resolve: (w: Window) => void;
  readonly #reject: (err: Error) => void;

  constructor(req: ReadRequest, window: number, limits: BodyLimits, resolve: (w: Window) => void, reject: (err: Error) => void) {
    this.#req = req;
    this.#window = window;
    this.#limits = limits;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#deadline = scheduleDeadline(this.#lastData + limits.idleMs, limits.idleMs, this);
    req[READER] = this;
    req.on('data', onReaderData);
    req.once('end', onReaderEnd);
    req.once('error', onReaderError);
    req.once('close', onReaderClose);
  }

  data(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.#limits.max) {
      this.stop(fail(this.#req, PayloadTooLarge(this.#limits.max)));
    } else if (this.size > this.#window) {
      this.#cleanup();
      this.#req.pause();
      this.#resolve(this);
    } else {
      this.#lastData = Date.now();
    }
  }

  end(): void {
    this.#cleanup();
    this.ended = true;
    this.#resolve(this);
  }

  stop(err: Error): void {
    this.#cleanup();
    this.#req.pause();
    this.#reject(err);
  }

  /** Called by the wheel when the entry is due: a pause of `idleMs` ends the read, else the entry is set again. */
  timeoutError(): Error {
    const idleMs = this.#limits.idleMs;
    const due = this.#lastData + idleMs;
    if (Date.now() < due) {
      this.#deadline = scheduleDeadline(due, idleMs, this);
    } else {
      this.stop(fail(this.#req, RequestTimeout(idleMs)));
    }
    return TIMER_ENTRY_DONE;
  }

  #cleanup(): void {
    this.#deadline.cancel();
    const req = this.#req;
    req[READER] = undefined;
    req.off('data', onReaderData);
    req.off('end', onReaderEnd);
    req.off('error', onReaderError);
    req.off('close', onReaderClose);
  }
}

/** What a wheel entry of a body read aborts with: nobody listens to it (the reader has acted already). */
const TIMER_ENTRY_DONE = new Error('body read pause checked');

/**
 * Reads until the body ends or passes `window` bytes. Rejects with 413 past `max`, 408 after
 * `idleMs` without data, 499 when the client goes away.
 */
function readWindow(req: IncomingMessage, window: number, limits: BodyLimits): Promise<Window> {
  return new Promise((resolve, reject) => {
    new WindowReader(req, window, limits, resolve, reject);
  });
}

function joined(w: Window): Buffer {
  return w.chunks.length === 1 ? w.chunks[0]! : Buffer.concat(w.chunks, w.size);
}

/** Reads a whole body into memory under `limits` (GraphQL POSTs, REST→gRPC JSON). */
export async function readWholeBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  return joined(await readWindow(req, limits.max, limits));
}

/** Streams the rest of a body on, under the same bounds as the window it follows. */
class GuardedBody extends Transform {
  #seen: number;
  readonly #req: IncomingMessage;
  readonly #limits: BodyLimits;
  readonly #timer: NodeJS.Timeout;

  constructor(req: IncomingMessage, limits: BodyLimits, seen: number) {
    super();
    this.#req = req;
    this.#limits = limits;
    this.#seen = seen;
    this.#timer = setTimeout(() => this.destroy(fail(req, RequestTimeout(limits.idleMs))), limits.idleMs);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limits.max) {
      cb(fail(this.#req, PayloadTooLarge(this.#limits.max)));
      return;
    }
    this.#timer.refresh();
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    clearTimeout(this.#timer);
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    clearTimeout(this.#timer);
    cb(err);
  }
}

/** Failures of a guarded body are reported through src/client-fault.ts, whoever reads it (or nobody yet). */
function ignore(): void {}

function onClientGone(this: IncomingMessage & { [GUARD]?: GuardedBody }): void {
  if (!this.complete) this[GUARD]?.destroy(fail(this, ClientClosedRequest()));
}
const GUARD = Symbol('proxy.guard');

/**
 * The body to send upstream: null (none), a Buffer (read whole within `bufferBytes`) or a
 * guarded stream. Throws the client's error (413/408/499) when it happens before the upstream
 * is called; the caller answers with Connection: close, as the rest of the body is unread.
 */
export async function upstreamBody(req: IncomingMessage, limits: BodyLimits, bufferBytes: number): Promise<Buffer | Readable | null> {
  if (!hasRequestBody(req)) return null;
  const declared = req.headers['content-length'];
  let w: Window = { chunks: [], size: 0, ended: false };
  // A declared length was checked against `max` by use-body-limit and is enforced by the parser.
  const window = declared !== undefined ? (Number(declared) <= bufferBytes ? Number(declared) : 0) : Math.min(bufferBytes, limits.max);
  if (window > 0) {
    w = await readWindow(req, window, limits);
    if (w.ended) return joined(w);
  }
  const guard = new GuardedBody(req, limits, 0);
  guard.on('error', ignore);
  for (const c of w.chunks) guard.write(c);
  (req as IncomingMessage & { [GUARD]?: GuardedBody })[GUARD] = guard;
  req.once('close', onClientGone);
  req.once('error', onClientGone);
  req.pipe(guard);
  return guard;
}
