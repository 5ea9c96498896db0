/**
 * Chooses a target for each attempt among those in rotation (healthy per active health checks
 * and not ejected by outlier detection): round-robin, least-connections, smooth weighted
 * round-robin (nginx's algorithm), or consistent hashing on the client, the IP or a header
 * (a ring of virtual nodes, so removing a target only moves the keys it owned).
 * No target in rotation: UPSTREAM_UNAVAILABLE at once.
 */
import { UpstreamUnavailable } from '../../errors.js';
import type { RequestContext } from '../../context.js';
import type { Target } from '../types.js';

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

export interface OutlierSettings {
  consecutiveFailures: number;
  ejectMs: number;
}

export class Balancer {
  readonly #name: string;
  readonly #targets: Target[];
  readonly #kind: BalancerKind;
  readonly #hashOn: string;
  readonly #header: string | undefined;
  #rr = 0;
  readonly #current: number[];
  readonly #ring: Array<{ point: number; target: number }> = [];
  /** Outlier detection: consecutive failures and ejection end per target index. */
  readonly #failures: number[];
  readonly #ejectedUntil: number[];
  readonly #outlier: OutlierSettings | undefined;

  constructor(name: string, targets: Target[], kind: BalancerKind, hashOn: string, outlier: OutlierSettings | undefined) {
    this.#name = name;
    this.#targets = targets;
    this.#kind = kind;
    this.#hashOn = hashOn;
    this.#header = hashOn.startsWith('header:') ? hashOn.slice(7).toLowerCase() : undefined;
    this.#current = targets.map(() => 0);
    this.#failures = targets.map(() => 0);
    this.#ejectedUntil = targets.map(() => 0);
    this.#outlier = outlier;
    if (kind === 'consistent-hash') {
      for (const t of targets) {
        for (let v = 0; v < VNODES_PER_WEIGHT * t.weight; v++) this.#ring.push({ point: fnv1a(`${t.url}#${v}`), target: t.index });
      }
      this.#ring.sort((a, b) => a.point - b.point);
    }
  }

  #inRotation(t: Target, now: number): boolean {
    return t.healthy && this.#ejectedUntil[t.index]! <= now;
  }

  pick(ctx: RequestContext | undefined): Target {
    const now = Date.now();
    const targets = this.#targets;
    switch (this.#kind) {
      case 'least-connections': {
        let best: Target | undefined;
        const n = targets.length;
        const start = this.#rr++ % n;
        for (let i = 0; i < n; i++) {
          const t = targets[(start + i) % n]!;
          if (this.#inRotation(t, now) && (!best || t.active < best.active)) best = t;
        }
        if (best) return best;
        break;
      }
      case 'weighted': {
        let total = 0;
        let best = -1;
        for (const t of targets) {
          if (!this.#inRotation(t, now)) continue;
          this.#current[t.index]! += t.weight;
          total += t.weight;
          if (best === -1 || this.#current[t.index]! > this.#current[best]!) best = t.index;
        }
        if (best !== -1) {
          this.#current[best]! -= total;
          return targets[best]!;
        }
        break;
      }
      case 'consistent-hash': {
        const key = this.#key(ctx);
        if (key !== undefined) {
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
            if (this.#inRotation(t, now)) return t;
          }
          break;
        }
        return this.#roundRobin(now);
      }
      default:
        return this.#roundRobin(now);
    }
    throw UpstreamUnavailable(this.#name, 'no healthy target');
  }

  #roundRobin(now: number): Target {
    const targets = this.#targets;
    const n = targets.length;
    for (let i = 0; i < n; i++) {
      const t = targets[this.#rr++ % n]!;
      if (this.#inRotation(t, now)) return t;
    }
    throw UpstreamUnavailable(this.#name, 'no healthy target');
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

  /** Passive outlier detection: a target failing `consecutiveFailures` times in a row sits out `ejectMs`. */
  record(target: Target, failed: boolean): boolean {
    if (!this.#outlier) return false;
    const i = target.index;
    if (!failed) {
      this.#failures[i] = 0;
      return false;
    }
    if (++this.#failures[i]! < this.#outlier.consecutiveFailures) return false;
    this.#failures[i] = 0;
    // Never eject the last target in rotation: a degraded answer beats none.
    const now = Date.now();
    const others = this.#targets.some((t) => t.index !== i && this.#inRotation(t, now));
    if (!others) return false;
    this.#ejectedUntil[i] = now + this.#outlier.ejectMs;
    return true;
  }
}
