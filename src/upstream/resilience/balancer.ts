/**
 * Chooses a target for each attempt among those that can serve: round-robin, least-connections,
 * smooth weighted round-robin (nginx's algorithm), or consistent hashing on the client, the IP
 * or a header (a ring of virtual nodes, so removing a target only moves the keys it owned).
 *
 * A target can serve when active health checks call it healthy and passive detection
 * (src/upstream/resilience/outlier.ts) has not ejected it. A retry names the targets that
 * already failed it; they are passed over while another target can serve.
 *
 * Panic threshold: when fewer than `panicThresholdPercent` % of the targets pass their health
 * checks, the checks are ignored and traffic goes to every target not ejected: an overloaded
 * health endpoint then costs some failed calls instead of all of them (Envoy's rule).
 *
 * No target can serve: UPSTREAM_UNAVAILABLE at once.
 */
import { UpstreamUnavailable } from '../../errors.js';
import type { RequestContext } from '../../context.js';
import type { Target } from '../types.js';
import type { OutlierDetector } from './outlier.js';

export type BalancerKind = 'round-robin' | 'least-connections' | 'weighted' | 'consistent-hash';

const VNODES_PER_WEIGHT = 100;

/** FNV-1a, 32 bit: fast, well spread for short keys. */
export function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche so neighbouring keys land far apart on the ring.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export interface BalancerOptions {
  kind: BalancerKind;
  hashOn: string;
  /** Passive detection; undefined when neither a circuit breaker nor outlier detection is configured. */
  outlier: OutlierDetector | undefined;
  /** Below this share (%) of health-checked-healthy targets, health checks are ignored; 0: never. */
  panicThresholdPercent: number;
  /** Told when panic routing starts and ends, and of each call it routes. */
  panic?: PanicListener;
}

export interface PanicListener {
  onPanicState(upstream: string, active: boolean): void;
  onPanicPick(upstream: string): void;
}

/** Bit of a target in a retry's `avoid` mask (targets past the 31st are never avoided). */
export function targetBit(index: number): number {
  return index < 31 ? 1 << index : 0;
}

/** Metric label per refusal reason. */
const REFUSAL_LABEL: Record<string, string> = {
  'circuit open': 'circuit_open',
  'circuit half-open, trial calls in flight': 'trials_in_flight',
  'no healthy target': 'no_healthy_target',
};

/** A refusal's reason ({@link OutlierDetector.refusal}, or no healthy target) as the `reason` label of `gateway_upstream_refused_total`. */
export function refusalLabel(reason: string): string {
  return REFUSAL_LABEL[reason] ?? 'other';
}

export class Balancer {
  /** Why the last refused pick was refused, as a metric label. */
  lastRefusal = '';
  readonly #name: string;
  readonly #targets: Target[];
  readonly #kind: BalancerKind;
  readonly #hashOn: string;
  readonly #header: string | undefined;
  #rr = 0;
  readonly #current: number[];
  readonly #ring: Array<{ point: number; target: number }> = [];
  readonly #outlier: OutlierDetector | undefined;
  readonly #panicPercent: number;
  readonly #panic: PanicListener | undefined;
  #inPanic = false;
  // Per pick: the rules the eligibility check applies (fields, not closures).
  #now = 0;
  #avoid = 0;
  #ignoreHealth = false;

  constructor(name: string, targets: Target[], opts: BalancerOptions) {
    this.#name = name;
    this.#targets = targets;
    this.#kind = opts.kind;
    this.#hashOn = opts.hashOn;
    this.#header = opts.hashOn.startsWith('header:') ? opts.hashOn.slice(7).toLowerCase() : undefined;
    this.#current = targets.map(() => 0);
    this.#outlier = opts.outlier;
    this.#panicPercent = opts.panicThresholdPercent;
    this.#panic = opts.panic;
    if (opts.kind === 'consistent-hash') {
      for (const t of targets) {
        for (let v = 0; v < VNODES_PER_WEIGHT * t.weight; v++) this.#ring.push({ point: fnv1a(`${t.url}#${v}`), target: t.index });
      }
      this.#ring.sort((a, b) => a.point - b.point);
    }
  }

  #eligible(t: Target): boolean {
    if (!t.healthy && !this.#ignoreHealth) return false;
    if ((this.#avoid & targetBit(t.index)) !== 0) return false;
    return this.#outlier === undefined || this.#outlier.canServe(t.index, this.#now);
  }

  /**
   * A target for the next attempt (the caller admits it with the outlier detector).
   * `avoid`: a bit mask ({@link targetBit}) of targets that already failed this call.
   */
  pick(ctx: RequestContext | undefined, avoid = 0): Target {
    this.#now = Date.now();
    this.#ignoreHealth = this.#panicking();
    this.#avoid = avoid;
    let t = this.#choose(ctx);
    if (t === undefined && avoid !== 0) {
      // Every other target is out: trying the one that failed again beats failing now.
      this.#avoid = 0;
      t = this.#choose(ctx);
    }
    if (t === undefined) {
      const healthy = this.#ignoreHealth || this.#targets.some((x) => x.healthy);
      const reason = healthy && this.#outlier ? this.#outlier.refusal(this.#now) : 'no healthy target';
      const err = UpstreamUnavailable(this.#name, reason);
      err.refused = true;
      this.lastRefusal = refusalLabel(reason);
      throw err;
    }
    return t;
  }

  #panicking(): boolean {
    if (this.#panicPercent <= 0) return false;
    const targets = this.#targets;
    let healthy = 0;
    for (let i = 0; i < targets.length; i++) if (targets[i]!.healthy) healthy++;
    const panic = healthy < targets.length && healthy * 100 < this.#panicPercent * targets.length;
    if (panic !== this.#inPanic) {
      this.#inPanic = panic;
      this.#panic?.onPanicState(this.#name, panic);
    }
    if (panic) this.#panic?.onPanicPick(this.#name);
    return panic;
  }

  #choose(ctx: RequestContext | undefined): Target | undefined {
    const targets = this.#targets;
    switch (this.#kind) {
      case 'least-connections': {
        let best: Target | undefined;
        const n = targets.length;
        const start = this.#rr++ % n;
        for (let i = 0; i < n; i++) {
          const t = targets[(start + i) % n]!;
          if ((!best || t.active < best.active) && this.#eligible(t)) best = t;
        }
        return best;
      }
      case 'weighted': {
        let total = 0;
        let best = -1;
        for (const t of targets) {
          if (!this.#eligible(t)) continue;
          this.#current[t.index]! += t.weight;
          total += t.weight;
          if (best === -1 || this.#current[t.index]! > this.#current[best]!) best = t.index;
        }
        if (best === -1) return undefined;
        this.#current[best]! -= total;
        return targets[best]!;
      }
      case 'consistent-hash': {
        const key = this.#key(ctx);
        if (key === undefined) return this.#roundRobin();
        const ring = this.#ring;
        const h = fnv1a(key);
        let lo = 0;
        let hi = ring.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (ring[mid]!.point < h) lo = mid + 1;
          else hi = mid;
        }
        for (let i = 0; i < ring.length; i++) {
          const t = targets[ring[(lo + i) % ring.length]!.target]!;
          if (this.#eligible(t)) return t;
        }
        return undefined;
      }
      default:
        return this.#roundRobin();
    }
  }

  #roundRobin(): Target | undefined {
    const targets = this.#targets;
    const n = targets.length;
    for (let i = 0; i < n; i++) {
      const t = targets[this.#rr++ % n]!;
      if (this.#eligible(t)) return t;
    }
    return undefined;
  }

  #key(ctx: RequestContext | undefined): string | undefined {
    if (!ctx) return undefined;
    if (this.#header) {
      const v = ctx.req.headers[this.#header];
      return Array.isArray(v) ? v[0] : v;
    }
    if (this.#hashOn === 'ip') return ctx.ip || undefined;
    return ctx.identity?.clientId ?? (ctx.ip || undefined);
  }
}
