/**
 * Rate-limit response header fields: the de-facto `X-RateLimit-Limit / -Remaining / -Reset`
 * trio (Reset = seconds until the window resets, as GitHub and Kong send it), and the IETF
 * draft's `RateLimit-Policy` / `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-08 and
 * later: structured-field lists of `"policy";q=quota;w=window` and `"policy";r=remaining;t=reset`).
 *
 * Graduated limiting: a window with `warnAtPercent` adds itself to `X-RateLimit-Warning`
 * (`"client";used=85;r=15;t=41`, same list syntax) on every response from the point where that
 * share of it is used, whatever `rateLimit.headers` says, so a client can slow down before 429.
 */
import type { ServerResponse } from 'node:http';
import type { RateWindow } from '../config/schema.js';
import type { Decision } from './limiter-store.js';

export type HeaderStyle = 'x-ratelimit' | 'ietf' | 'both';

/** One window the client is told about, with its policy item precomputed at start-up. */
export interface AdvertisedWindow {
  /** Structured-field string naming the policy, e.g. `"client"`. */
  readonly id: string;
  /** `"client";q=100;w=60` */
  readonly policy: string;
  /** Used share (%) of the window from which it is listed in `X-RateLimit-Warning`; 0: never. */
  readonly warnAtPercent: number;
}

/** A token bucket's policy item also names its capacity (`;burst=N`, a parameter clients may ignore). */
export function advertisedWindow(name: string, w: RateWindow): AdvertisedWindow {
  const id = JSON.stringify(name);
  const burst = w.algorithm === 'token-bucket' ? `;burst=${w.burst ?? w.points}` : '';
  return { id, policy: `${id};q=${w.points};w=${w.durationSec}${burst}`, warnAtPercent: w.warnAtPercent ?? 0 };
}

/** Percent of the decision's window used, rounded down. */
function usedPercent(d: Decision): number {
  return Math.floor(((d.limit - d.remaining) * 100) / d.limit);
}

export function resetSeconds(d: Decision): number {
  return Math.ceil(d.resetMs / 1000);
}

/** `Retry-After` in whole seconds, at least 1 so a client never retries at once. */
export function retryAfterSeconds(d: Decision): number {
  return Math.max(1, resetSeconds(d));
}

/**
 * Writes the header fields for the windows that applied. `shown` is the most restrictive
 * decision (the one the X-RateLimit trio reports); the IETF fields list every window.
 */
export function writeRateLimitHeaders(
  res: ServerResponse,
  style: HeaderStyle,
  windows: AdvertisedWindow[],
  decisions: Decision[],
  shown: Decision,
  policyHeader: string,
): void {
  if (style !== 'ietf') {
    res.setHeader('X-RateLimit-Limit', String(shown.limit));
    res.setHeader('X-RateLimit-Remaining', String(shown.remaining));
    res.setHeader('X-RateLimit-Reset', String(resetSeconds(shown)));
  }
  if (style !== 'x-ratelimit') {
    res.setHeader('RateLimit-Policy', policyHeader);
    let value = '';
    for (let i = 0; i < decisions.length; i++) {
      const d = decisions[i]!;
      if (i > 0) value += ', ';
      value += `${windows[i]!.id};r=${d.remaining};t=${resetSeconds(d)}`;
    }
    res.setHeader('RateLimit', value);
  }
  let warning = '';
  for (let i = 0; i < decisions.length; i++) {
    const w = windows[i]!;
    if (w.warnAtPercent === 0) continue;
    const d = decisions[i]!;
    const used = usedPercent(d);
    if (used < w.warnAtPercent) continue;
    if (warning) warning += ', ';
    warning += `${w.id};used=${used};r=${d.remaining};t=${resetSeconds(d)}`;
  }
  if (warning) res.setHeader('X-RateLimit-Warning', warning);
}

/** Of several decisions, the one a client should heed: refused first, then fewest points left. */
export function mostRestrictive(decisions: Decision[]): Decision {
  let best = decisions[0]!;
  for (let i = 1; i < decisions.length; i++) {
    const d = decisions[i]!;
    if (d.allowed !== best.allowed) {
      if (!d.allowed) best = d;
    } else if (d.remaining < best.remaining || (d.remaining === best.remaining && d.resetMs > best.resetMs)) {
      best = d;
    }
  }
  return best;
}
