/**
 * Circuit breaker per upstream, with the CONTRACT's semantics: `failureThreshold` consecutive
 * failures (5xx, connection error, timeout; a 4xx is an answer, not a failure) open it; while
 * open, calls fail at once with UPSTREAM_UNAVAILABLE and never reach the upstream; after
 * `openMs` up to `halfOpenMaxCalls` trial calls go through; `successThreshold` successes close
 * it and any failure opens it again.
 *
 * cockatiel's ConsecutiveBreaker closes after a single half-open success, so the state machine
 * is ours; it is small and has no timers (the open period is checked on the next call).
 *
 * A call the client ended (aborted upload, stalled or oversized body) says nothing about the
 * upstream: it neither counts as a failure nor resets the failure count.
 */
import { UpstreamUnavailable, isGatewayError } from '../../errors.js';
import { isNeutral } from '../../client-fault.js';
import type { Invoke, UpstreamCall, UpstreamInfo } from '../types.js';

export type BreakerState = 'closed' | 'half-open' | 'open';

export interface BreakerSettings {
  failureThreshold: number;
  openMs: number;
  successThreshold: number;
  halfOpenMaxCalls: number;
}

export interface BreakerListener {
  (upstream: string, state: BreakerState): void;
}

/** True when an outcome counts as the upstream failing. */
export function isUpstreamFailure(upstream: UpstreamInfo, result: unknown, error: unknown): boolean {
  if (error !== undefined) return isGatewayError(error) ? error.upstreamFailure : true;
  return upstream.isFailure(result);
}

export class CircuitBreaker {
  state: BreakerState = 'closed';
  #failures = 0;
  #successes = 0;
  #openedAt = 0;
  #trials = 0;
  readonly #settings: BreakerSettings;
  readonly #name: string;
  readonly #listener: BreakerListener;

  constructor(name: string, settings: BreakerSettings, listener: BreakerListener) {
    this.#name = name;
    this.#settings = settings;
    this.#listener = listener;
  }

  #set(state: BreakerState): void {
    if (this.state === state) return;
    this.state = state;
    this.#listener(this.#name, state);
  }

  /** Admits a call or throws the fast failure. */
  admit(now: number): void {
    if (this.state === 'open') {
      if (now - this.#openedAt < this.#settings.openMs) throw UpstreamUnavailable(this.#name, 'circuit open');
      this.#successes = 0;
      this.#trials = 0;
      this.#set('half-open');
    }
    if (this.state === 'half-open') {
      if (this.#trials >= this.#settings.halfOpenMaxCalls) throw UpstreamUnavailable(this.#name, 'circuit half-open, trial calls in flight');
      this.#trials++;
    }
  }

  /** Gives back a half-open trial slot without counting the call either way (the client ended it). */
  release(): void {
    if (this.state === 'half-open') this.#trials--;
  }

  record(failed: boolean, now: number): void {
    if (this.state === 'half-open') {
      this.#trials--;
      if (failed) return this.#open(now);
      if (++this.#successes >= this.#settings.successThreshold) {
        this.#failures = 0;
        this.#set('closed');
      }
      return;
    }
    if (failed) {
      if (++this.#failures >= this.#settings.failureThreshold && this.state === 'closed') this.#open(now);
    } else {
      this.#failures = 0;
    }
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#failures = 0;
    this.#set('open');
  }
}

/** The interceptor: one breaker per upstream, checked before each attempt. */
export function breakerInterceptor<C extends UpstreamCall, R>(next: Invoke<C, R>, upstream: UpstreamInfo, breaker: CircuitBreaker): Invoke<C, R> {
  return async (call) => {
    breaker.admit(Date.now());
    let result: R;
    try {
      result = await next(call);
    } catch (err) {
      if (isNeutral(err)) breaker.release();
      else breaker.record(isUpstreamFailure(upstream, undefined, err), Date.now());
      throw err;
    }
    breaker.record(upstream.isFailure(result), Date.now());
    return result;
  };
}
