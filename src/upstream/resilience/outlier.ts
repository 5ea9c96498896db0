/**
 * Passive fault detection per target: each target of an upstream has its own small breaker.
 *
 *   in ──(trips)──▶ ejected ──(ejection time over)──▶ probing ──(successThreshold successes)──▶ in
 *                      ▲                                  │
 *                      └───────────(one failure)──────────┘
 *
 * A target trips on `consecutiveFailures` failures in a row, or, when `failureRatePercent` is
 * set, when at least that share of its calls failed in the current `windowMs` window (with at
 * least `minRequests` calls in it). A failure is a 5xx, a failed connection or a timeout; a 4xx
 * is an answer, and a call the client ended counts neither way (src/client-fault.ts).
 *
 * Ejection time grows for repeat offenders: the n-th ejection lasts n × `ejectMs`, capped at
 * `maxEjectMs`; a target that stayed in for `maxEjectMs` starts from one again. At most
 * `maxEjectionPercent` of the targets are ejected at once (at least one always may be), so a
 * fault on our side cannot empty the pool; a target that trips over that cap stays in rotation
 * and is marked as failing. When every target is ejected or failing, nothing can serve: the
 * last one is ejected too and the upstream's circuit is open (calls fail fast with
 * UPSTREAM_UNAVAILABLE, never reaching a target), until a target's ejection ends and trial
 * calls go through.
 *
 * With one target this is exactly the CONTRACT's circuit breaker: `failureThreshold` failures
 * open it, `openMs` later `halfOpenMaxCalls` trial calls go through, `successThreshold`
 * successes close it, one failure opens it again. Ejection time does not grow there: with
 * nowhere else to send traffic, a longer open period only lengthens the outage.
 *
 * No timers: ejection ends are checked when a target is next considered.
 */
import { isGatewayError } from '../../errors.js';
import type { UpstreamInfo } from '../types.js';

export type TargetState = 'in' | 'probing' | 'ejected';
export type CircuitState = 'closed' | 'half-open' | 'open';

export interface OutlierSettings {
  consecutiveFailures: number;
  /** Trip when at least this share (%) of a window's calls failed; undefined: off. */
  failureRatePercent: number | undefined;
  minRequests: number;
  windowMs: number;
  ejectMs: number;
  maxEjectMs: number;
  maxEjectionPercent: number;
  successThreshold: number;
  halfOpenMaxCalls: number;
  /** May the last serving target be ejected (fail fast), or does a degraded answer beat none? */
  ejectLast: boolean;
}

export interface OutlierListener {
  onTargetState(upstream: string, target: string, state: TargetState, ejectMs: number): void;
  onCircuitState(upstream: string, state: CircuitState): void;
}

/**
 * Settings for one target behind the CONTRACT's circuit breaker (see the module comment):
 * `failureThreshold` failures in a row open it, `openMs` later `halfOpenMaxCalls` trial calls go
 * through, `successThreshold` successes close it, one failure opens it again.
 */
export function breakerSettings(b: { failureThreshold: number; openMs: number; successThreshold?: number; halfOpenMaxCalls?: number }): OutlierSettings {
  return {
    consecutiveFailures: b.failureThreshold,
    failureRatePercent: undefined,
    minRequests: 1,
    windowMs: b.openMs,
    ejectMs: b.openMs,
    maxEjectMs: b.openMs,
    maxEjectionPercent: 100,
    successThreshold: b.successThreshold ?? 1,
    halfOpenMaxCalls: b.halfOpenMaxCalls ?? 1,
    ejectLast: true,
  };
}

/** True when an outcome counts as the upstream failing. */
export function isUpstreamFailure(upstream: UpstreamInfo, result: unknown, error: unknown): boolean {
  if (error !== undefined) return isGatewayError(error) ? error.upstreamFailure : true;
  return upstream.isFailure(result);
}

const IN = 0;
const PROBING = 1;
const EJECTED = 2;
const STATE_NAMES: TargetState[] = ['in', 'probing', 'ejected'];

export class OutlierDetector {
  readonly #upstream: string;
  readonly #urls: string[];
  readonly #s: OutlierSettings;
  readonly #listener: OutlierListener;
  readonly #n: number;
  // Per target, indexed by Target.index (struct of arrays: no object per target per call).
  readonly #state: Uint8Array;
  readonly #failing: Uint8Array;
  readonly #consecutive: Uint32Array;
  readonly #windowStart: Float64Array;
  readonly #windowCalls: Uint32Array;
  readonly #windowFailures: Uint32Array;
  readonly #ejectedUntil: Float64Array;
  readonly #ejections: Uint32Array;
  readonly #lastBack: Float64Array;
  readonly #trials: Uint32Array;
  readonly #successes: Uint32Array;
  /** Bumped on every state change: a call admitted under an earlier state is not counted in this one. */
  readonly #epoch: Uint32Array;
  #circuit: CircuitState = 'closed';

  constructor(upstream: string, urls: string[], settings: OutlierSettings, listener: OutlierListener) {
    this.#upstream = upstream;
    this.#urls = urls;
    this.#s = settings;
    this.#listener = listener;
    const n = (this.#n = urls.length);
    this.#state = new Uint8Array(n);
    this.#failing = new Uint8Array(n);
    this.#consecutive = new Uint32Array(n);
    this.#windowStart = new Float64Array(n);
    this.#windowCalls = new Uint32Array(n);
    this.#windowFailures = new Uint32Array(n);
    this.#ejectedUntil = new Float64Array(n);
    this.#ejections = new Uint32Array(n);
    this.#lastBack = new Float64Array(n);
    this.#trials = new Uint32Array(n);
    this.#successes = new Uint32Array(n);
    this.#epoch = new Uint32Array(n);
  }

  /** The upstream's circuit: closed while a target is in, half-open while only probing ones are left, open when all are ejected. */
  get circuit(): CircuitState {
    return this.#circuit;
  }

  state(i: number): TargetState {
    return STATE_NAMES[this.#state[i]!]!;
  }

  /** True when target `i` may take a call now (an ejected target whose time is over becomes probing). */
  canServe(i: number, now: number): boolean {
    let st = this.#state[i]!;
    if (st === EJECTED) {
      if (now < this.#ejectedUntil[i]!) return false;
      this.#state[i] = st = PROBING;
      this.#epoch[i]!++;
      this.#trials[i] = 0;
      this.#successes[i] = 0;
      this.#listener.onTargetState(this.#upstream, this.#urls[i]!, 'probing', 0);
      this.#updateCircuit();
    }
    return st === IN || this.#trials[i]! < this.#s.halfOpenMaxCalls;
  }

  /** Why no target could be chosen, for the client's message. */
  refusal(now: number): string {
    for (let i = 0; i < this.#n; i++) {
      if (this.#state[i] === PROBING || (this.#state[i] === EJECTED && now >= this.#ejectedUntil[i]!)) return 'circuit half-open, trial calls in flight';
    }
    return 'circuit open';
  }

  /**
   * A call goes to target `i` (after {@link canServe} said yes). Returns the admission, to hand
   * back to {@link record} or {@link release}: a call admitted before the target's last state
   * change (say, before its ejection) neither counts nor frees a trial slot in the new state.
   */
  admit(i: number): number {
    if (this.#state[i] === PROBING) this.#trials[i]!++;
    return this.#epoch[i]!;
  }

  /** Gives back a probing target's trial slot without counting the call either way (the client ended it). */
  release(i: number, admission: number): void {
    if (admission !== this.#epoch[i]) return;
    if (this.#state[i] === PROBING && this.#trials[i]! > 0) this.#trials[i]!--;
  }

  /** Records a finished call on target `i`. */
  record(i: number, failed: boolean, now: number, admission: number): void {
    if (admission !== this.#epoch[i]) return; // admitted under an earlier state (e.g. before the ejection)
    const st = this.#state[i]!;
    if (st === EJECTED) return;
    if (st === PROBING) {
      if (this.#trials[i]! > 0) this.#trials[i]!--;
      if (failed) return this.#eject(i, now);
      if (++this.#successes[i]! >= this.#s.successThreshold) {
        this.#state[i] = IN;
        this.#epoch[i]!++;
        this.#consecutive[i] = 0;
        this.#windowCalls[i] = 0;
        this.#windowFailures[i] = 0;
        this.#windowStart[i] = now;
        this.#lastBack[i] = now;
        this.#listener.onTargetState(this.#upstream, this.#urls[i]!, 'in', 0);
        this.#updateCircuit();
      }
      return;
    }
    if (now - this.#windowStart[i]! >= this.#s.windowMs) {
      this.#windowStart[i] = now;
      this.#windowCalls[i] = 0;
      this.#windowFailures[i] = 0;
    }
    this.#windowCalls[i]!++;
    if (!failed) {
      this.#consecutive[i] = 0;
      this.#failing[i] = 0;
      return;
    }
    this.#windowFailures[i]!++;
    const s = this.#s;
    const tripped =
      ++this.#consecutive[i]! >= s.consecutiveFailures ||
      (s.failureRatePercent !== undefined && this.#windowCalls[i]! >= s.minRequests && this.#windowFailures[i]! * 100 >= s.failureRatePercent * this.#windowCalls[i]!);
    if (!tripped) return;
    this.#consecutive[i] = 0;
    this.#windowCalls[i] = 0;
    this.#windowFailures[i] = 0;
    this.#windowStart[i] = now;
    if (this.#mayEject(i)) this.#eject(i, now);
    else this.#failing[i] = 1;
  }

  #mayEject(i: number): boolean {
    let out = 0;
    let serving = 0;
    for (let j = 0; j < this.#n; j++) {
      if (j === i) continue;
      if (this.#state[j] !== IN) out++;
      else if (!this.#failing[j]) serving++;
    }
    // Nothing else can serve: eject (the circuit opens) only when a breaker is configured.
    if (serving === 0) return this.#s.ejectLast;
    const cap = Math.max(1, Math.floor((this.#n * this.#s.maxEjectionPercent) / 100));
    return out + 1 <= cap;
  }

  #eject(i: number, now: number): void {
    const s = this.#s;
    // A target that stayed in for maxEjectMs is no longer a repeat offender.
    if (this.#ejections[i]! > 0 && this.#state[i] === IN && now - this.#lastBack[i]! >= s.maxEjectMs) this.#ejections[i] = 0;
    const n = ++this.#ejections[i]!;
    const ms = this.#n === 1 ? s.ejectMs : Math.min(s.maxEjectMs, s.ejectMs * n);
    this.#state[i] = EJECTED;
    this.#epoch[i]!++;
    this.#failing[i] = 0;
    this.#trials[i] = 0;
    this.#ejectedUntil[i] = now + ms;
    this.#listener.onTargetState(this.#upstream, this.#urls[i]!, 'ejected', ms);
    this.#updateCircuit();
    // Targets kept in only by the cap were failing while nothing else could serve: they go too.
    if (this.#circuit !== 'closed' || !this.#s.ejectLast) return;
    let anyServing = false;
    for (let j = 0; j < this.#n; j++) if (this.#state[j] === IN && !this.#failing[j]) anyServing = true;
    if (anyServing) return;
    for (let j = 0; j < this.#n; j++) if (this.#state[j] === IN && this.#failing[j]) return this.#eject(j, now);
  }

  #updateCircuit(): void {
    let anyIn = false;
    let anyProbing = false;
    for (let j = 0; j < this.#n; j++) {
      if (this.#state[j] === IN) anyIn = true;
      else if (this.#state[j] === PROBING) anyProbing = true;
    }
    const next: CircuitState = anyIn ? 'closed' : anyProbing ? 'half-open' : 'open';
    if (next === this.#circuit) return;
    this.#circuit = next;
    this.#listener.onCircuitState(this.#upstream, next);
  }
}
