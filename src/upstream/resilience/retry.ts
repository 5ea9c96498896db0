/**
 * Retries, as the CONTRACT allows them: idempotent calls only (POST never; a streamed body
 * never, since it cannot be sent twice), only after a 502/503/504 answer or a failed
 * connection, at most `attempts` extra tries, each to a target that has not failed this call
 * yet when one can serve, exponential backoff with full jitter capped at
 * `maxDelayMs` (or the upstream's `Retry-After` when it is shorter than the deadline), never
 * past the request's deadline, and within a retry budget: retries may add at most
 * `budgetPercent` % to the upstream's recent traffic, so an outage is not multiplied.
 */
import { Readable } from 'node:stream';
import { isGatewayError } from '../../errors.js';
import type { HttpResult, Invoke, UpstreamCall, UpstreamInfo } from '../types.js';
import { targetBit } from './balancer.js';

export interface RetrySettings {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  budgetPercent: number;
}

const RETRY_STATUS = new Set([502, 503, 504]);
/** Budget window; retries always allowed up to this many per window, whatever the traffic. */
const BUDGET_WINDOW_MS = 10_000;
const BUDGET_FLOOR = 3;

/** Counts calls and retries in a fixed window to cap retries at a share of traffic. */
export class RetryBudget {
  #windowStart = 0;
  #calls = 0;
  #retries = 0;
  readonly #percent: number;

  constructor(percent: number) {
    this.#percent = percent;
  }

  #roll(now: number): void {
    if (now - this.#windowStart >= BUDGET_WINDOW_MS) {
      this.#windowStart = now;
      this.#calls = 0;
      this.#retries = 0;
    }
  }

  call(now: number): void {
    this.#roll(now);
    this.#calls++;
  }

  /** Takes one retry from the budget, or says no. */
  take(now: number): boolean {
    this.#roll(now);
    const allowed = Math.max(BUDGET_FLOOR, Math.floor((this.#calls * this.#percent) / 100));
    if (this.#retries >= allowed) return false;
    this.#retries++;
    return true;
  }
}

/** Full-jitter exponential backoff: a random delay in [0, min(max, base·2^n)). */
export function backoffMs(attempt: number, base: number, max: number): number {
  return Math.floor(Math.random() * Math.min(max, base * 2 ** attempt));
}

function retryAfterMs(result: unknown): number | undefined {
  const h = (result as Partial<HttpResult>).headers?.['retry-after'];
  if (typeof h !== 'string') return undefined;
  const secs = Number(h);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Why a settled outcome may be retried, or undefined when it may not. */
function retryReason(result: unknown, error: unknown): string | undefined {
  if (error !== undefined) {
    // A failed connection is UPSTREAM_UNAVAILABLE marked as the upstream's failure; an open
    // circuit or "no healthy target" is not (retrying it would only spin), nor is a timeout.
    if (isGatewayError(error) && error.code === 'UPSTREAM_UNAVAILABLE' && error.upstreamFailure) return 'connection';
    return undefined;
  }
  const status = (result as Partial<HttpResult>).statusCode;
  return status !== undefined && RETRY_STATUS.has(status) ? String(status) : undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RetryListener {
  (upstream: string, attempt: number, reason: string): void;
}

export function retryInterceptor<C extends UpstreamCall, R>(
  next: Invoke<C, R>,
  upstream: UpstreamInfo,
  settings: RetrySettings,
  budget: RetryBudget,
  onRetry: RetryListener,
): Invoke<C, R> {
  return async (call) => {
    budget.call(Date.now());
    const body = (call as { body?: unknown }).body;
    if (!call.idempotent || settings.attempts === 0 || body instanceof Readable) return next(call);
    let attempt = 0;
    let current = call;
    for (;;) {
      let result: R | undefined;
      let error: unknown;
      try {
        result = await next(current);
      } catch (err) {
        error = err;
      }
      const reason = attempt < settings.attempts ? retryReason(result, error) : undefined;
      if (reason !== undefined) {
        const hinted = error === undefined ? retryAfterMs(result) : undefined;
        const delay = hinted !== undefined ? Math.min(hinted, settings.maxDelayMs) : backoffMs(attempt, settings.baseDelayMs, settings.maxDelayMs);
        if (Date.now() + delay < call.deadline && budget.take(Date.now())) {
          // The failed answer is dropped; its connection goes back to the pool.
          (result as Partial<HttpResult> | undefined)?.body?.resume();
          attempt++;
          onRetry(upstream.name, attempt, reason);
          // The next try goes to another target when one can serve (the balancer reads `avoid`).
          const failed = current.target;
          current = { ...call, attempt, target: undefined, avoid: failed ? current.avoid | targetBit(failed.index) : current.avoid };
          if (delay > 0) await sleep(delay);
          continue;
        }
      }
      if (error !== undefined) throw error;
      return result as R;
    }
  };
}
