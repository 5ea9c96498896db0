/**
 * The undici dispatch handlers of an HTTP upstream's calls (HttpUpstream, ./http-upstream.ts):
 * a JSON call collects its answer (JsonCall); a streamed call hands its body over at the head and
 * writes it straight to whoever takes it, the client's response as a rule (StreamCall). Neither
 * uses an undici body stream.
 */
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable, type Writable } from 'node:stream';
import { UpstreamError } from '../../errors.js';
import type { UpstreamConfig } from '../../config/schema.js';
import type { RequestContext } from '../../context.js';
import type { HttpCall, HttpResult, Target, UpstreamBody } from '../types.js';
import type { CallDeadline } from '../deadline-wheel.js';
import { isJsonMediaType } from '../../http/media-type.js';

/** What a handler needs of the upstream it serves. */
export interface CallOwner {
  readonly name: string;
  readonly config: UpstreamConfig;
  /** Logs a 2xx answer a JSON call could not read (its start only). */
  unreadable(ctx: RequestContext | undefined, contentType: unknown, body: string, err: unknown): void;
  /** The error a failed call rejects with (the client's fault, or the transport's error mapped). */
  failure(call: HttpCall, err: unknown, remaining: number): Error;
}

/** How much of an upstream's error body the log keeps. */
const LOGGED_BODY_BYTES = 2048;

/** The first LOGGED_BODY_BYTES of the kept chunks, as text. */
function prefixText(chunks: Buffer[], size: number): string {
  return Buffer.concat(chunks, size).subarray(0, LOGGED_BODY_BYTES).toString('utf8');
}

/**
 * What both handlers share: the call they serve and how it settles, its deadline on the wheel
 * (null for a streamed upload that did not wait for a connection), and the target's count of
 * calls in flight, taken here and given back by each handler when its exchange is over.
 */
abstract class DispatchedCall {
  protected controller: Dispatcher.DispatchController | undefined;
  /** The call's promise is settled (or failing): nothing more may settle it. */
  protected settled = false;
  protected readonly upstream: CallOwner;
  protected readonly call: HttpCall;
  protected readonly target: Target;
  protected readonly deadline: CallDeadline | null;
  protected readonly remaining: number;
  protected readonly resolve: (r: HttpResult) => void;
  protected readonly reject: (e: unknown) => void;

  constructor(upstream: CallOwner, call: HttpCall, target: Target, deadline: CallDeadline | null, remaining: number, resolve: (r: HttpResult) => void, reject: (e: unknown) => void) {
    this.upstream = upstream;
    this.call = call;
    this.target = target;
    this.deadline = deadline;
    this.remaining = remaining;
    this.resolve = resolve;
    this.reject = reject;
    target.active++;
    deadline?.addEventListener('abort', this.onDeadline);
  }

  /** The wheel ran out: abort the exchange, or (still queued for a connection) fail at once. */
  protected readonly onDeadline = (): void => {
    const reason = this.deadline!.reason;
    if (this.controller) this.controller.abort(reason as Error);
    else this.fail(reason);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.deadline) this.deadline.queued = false;
    // Failed while it waited for a connection: dropped before it is written.
    if (this.settled) controller.abort(this.deadline!.reason as Error);
  }

  /** The call leaves the wheel: its deadline no longer applies. */
  protected stopDeadline(): void {
    const d = this.deadline;
    if (d) {
      d.removeEventListener('abort', this.onDeadline);
      d.cancel();
    }
  }

  protected abstract fail(err: unknown): void;
}

/**
 * The undici dispatch handler of one JSON call (HttpUpstream#json): collects the answer's bytes
 * and settles the call with its status, headers and parsed JSON. A 2xx JSON answer is kept whole
 * (up to `maxResponseBytes`, past which the call fails); of any other answer only what the log
 * shows is kept, and the rest is read and dropped so the connection stays reusable.
 */
export class JsonCall extends DispatchedCall implements Dispatcher.DispatchHandler {
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;
  /** Keep every byte (a 2xx JSON answer that will be parsed), or only a log's worth. */
  #whole = false;

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = status;
    this.#headers = headers as IncomingHttpHeaders;
    this.#whole = status >= 200 && status < 300 && status !== 204 && isJsonMediaType(headers['content-type']);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#whole) {
      const limit = this.upstream.config.maxResponseBytes;
      if (this.#size > limit) {
        controller.abort(UpstreamError(this.upstream.name, `an answer over maxResponseBytes (${limit} bytes)`).asUpstreamFailure());
        return;
      }
    } else if (this.#kept >= LOGGED_BODY_BYTES) {
      return;
    }
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
  }

  onResponseEnd(): void {
    if (this.settled) return;
    const status = this.#status;
    const result: HttpResult = { statusCode: status, headers: this.#headers, body: null, target: this.target, json: undefined };
    if (status < 200 || status >= 300) {
      result.errorText = prefixText(this.#chunks, this.#kept);
    } else if (status !== 204) {
      const up = this.upstream;
      const contentType = this.#headers['content-type'];
      if (!this.#whole) {
        up.unreadable(this.call.ctx, contentType, prefixText(this.#chunks, this.#kept), undefined);
        this.fail(UpstreamError(up.name, 'a body that is not JSON').asUpstreamFailure());
        return;
      }
      const text = this.#chunks.length === 1 ? this.#chunks[0]!.toString('utf8') : Buffer.concat(this.#chunks, this.#kept).toString('utf8');
      try {
        result.json = JSON.parse(text);
      } catch (err) {
        // The parser's message quotes the body: it goes to the log only.
        up.unreadable(this.call.ctx, contentType, text.slice(0, LOGGED_BODY_BYTES), err);
        this.fail(UpstreamError(up.name, 'a body that is not valid JSON').asUpstreamFailure());
        return;
      }
    }
    this.#done();
    this.resolve(result);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  protected fail(err: unknown): void {
    if (this.settled) return;
    this.#done();
    this.reject(this.upstream.failure(this.call, err, this.remaining));
  }

  #done(): void {
    this.settled = true;
    this.#chunks = [];
    this.stopDeadline();
    this.target.active--;
  }
}

/** Where the body of a {@link StreamCall} goes: not taken yet, a writable, a Readable, nowhere. */
const HELD = 0;
const SINK = 1;
const STREAM = 2;
const DROPPED = 3;

const SOURCE = Symbol('upstream.body');
type Sink = Writable & { [SOURCE]?: StreamCall };

function onSinkDrain(this: Sink): void {
  this[SOURCE]?.pull();
}

function onSinkClose(this: Sink): void {
  this[SOURCE]?.sinkClosed();
}

/** A {@link StreamCall}'s body as a Node Readable: reading resumes the upstream, destroying it ends the exchange. */
class BodyReadable extends Readable {
  readonly #source: StreamCall;

  constructor(source: StreamCall) {
    // As undici's own body stream.
    super({ highWaterMark: 65_536 });
    this.#source = source;
  }

  override _read(): void {
    this.#source.pull();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#source.destroy(err ?? undefined);
    cb(err);
  }
}

/**
 * The undici dispatch handler of one streamed (passthrough) call, and the body of its answer
 * ({@link UpstreamBody}): settles the call at the answer's head, with the upstream paused until
 * a consumer takes the body; then writes each chunk straight to that consumer (no body stream of
 * undici's), pausing the upstream while the consumer is full. A failure mid-body destroys the
 * consumer; a consumer closed before the end aborts the exchange (its connection is closed).
 */
export class StreamCall extends DispatchedCall implements Dispatcher.DispatchHandler, UpstreamBody {
  #mode = HELD;
  #sink: Writable | undefined;
  #stream: BodyReadable | undefined;
  /** Chunks that came before a consumer took the body (the upstream is paused at the head, so at most one). */
  #held: Buffer[] | undefined;
  #ended = false;
  /** Why the exchange ended before the body's end. */
  #error: Error | undefined;
  /** The exchange is over: ended, failed or aborted. */
  #closed = false;
  #onClose: (() => void) | undefined;

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.settled = true;
    // The body is bounded per pause between chunks (undici's bodyTimeout) from here on.
    this.stopDeadline();
    // Held until the caller takes the body (HEAD, 204 and 304 answers end at once all the same).
    controller.pause();
    this.resolve({ statusCode: status, headers: headers as IncomingHttpHeaders, body: this, target: this.target, json: undefined });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    switch (this.#mode) {
      case SINK:
        if (!this.#sink!.write(chunk)) controller.pause();
        return;
      case STREAM:
        if (!this.#stream!.push(chunk)) controller.pause();
        return;
      case HELD:
        (this.#held ??= []).push(chunk);
        controller.pause();
        return;
      default:
      // DROPPED: read and let go, so the connection is reused.
    }
  }

  onResponseEnd(): void {
    this.#ended = true;
    if (this.#mode === SINK) this.#sink!.end();
    else if (this.#mode === STREAM) this.#stream!.push(null);
    this.#close();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.#closed) return;
    if (!this.settled) {
      this.fail(err);
      return;
    }
    // Mid-body: the answer's head is out; the consumer is cut off.
    this.#error = err;
    this.#consumer()?.destroy(err);
    this.#close();
  }

  protected fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.stopDeadline();
    this.#close();
    this.reject(this.upstream.failure(this.call, err, this.remaining));
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.target.active--;
    const fn = this.#onClose;
    this.#onClose = undefined;
    fn?.();
  }

  /** The consumer that took the body, if one did. */
  #consumer(): Writable | Readable | undefined {
    return this.#mode === SINK ? this.#sink : this.#mode === STREAM ? this.#stream : undefined;
  }

  /** Chunks that came before a consumer took the body, handed over once. */
  #takeHeld(): Buffer[] {
    const held = this.#held ?? [];
    this.#held = undefined;
    return held;
  }

  sendTo(dest: Writable): void {
    this.#mode = SINK;
    this.#sink = dest;
    for (const c of this.#takeHeld()) dest.write(c);
    if (this.#ended) {
      dest.end();
      return;
    }
    if (this.#closed || dest.destroyed) {
      // Failed or dropped before it was taken, or the client already left.
      dest.destroy(this.#error);
      this.destroy();
      return;
    }
    (dest as Sink)[SOURCE] = this;
    dest.on('drain', onSinkDrain);
    dest.once('close', onSinkClose);
    if (!dest.writableNeedDrain) this.controller!.resume();
  }

  readable(): Readable {
    const stream = new BodyReadable(this);
    this.#mode = STREAM;
    this.#stream = stream;
    for (const c of this.#takeHeld()) stream.push(c);
    if (this.#ended) stream.push(null);
    else if (this.#closed) stream.destroy(this.#error);
    return stream;
  }

  resume(): void {
    if (this.#mode !== HELD) return;
    this.#mode = DROPPED;
    this.#held = undefined;
    if (!this.#closed) this.controller!.resume();
  }

  destroy(err?: Error): void {
    if (this.#closed) return;
    // Our consumer is ended here, with `err` only if one was given (no 'error' nobody listens to).
    const consumer = this.#consumer();
    this.#mode = DROPPED;
    consumer?.destroy(err);
    this.controller!.abort(err ?? new Error('upstream answer dropped before its end'));
  }

  onClose(fn: () => void): void {
    if (this.#closed) {
      fn();
      return;
    }
    const prev = this.#onClose;
    this.#onClose = prev ? () => { prev(); fn(); } : fn;
  }

  /** The consumer wants more (a sink drained, or the Readable is read). */
  pull(): void {
    if (!this.#closed) this.controller!.resume();
  }

  /** The sink closed: before the body's end, that ends the exchange (a client that left). */
  sinkClosed(): void {
    if (!this.#closed) this.destroy();
  }
}
