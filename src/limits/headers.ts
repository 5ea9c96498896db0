/**
 * Rate-limit response header fields: the de-facto `X-RateLimit-Limit / -Remaining / -Reset`
 * trio (Reset = seconds until the window resets, as GitHub and Kong send it), and the IETF
 * draft's `RateLimit-Policy` / `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-08 and
 * later: structured-field lists of `"policy";q=quota;w=window` and `"policy";r=remaining;t=reset`).
 */
import type { ServerResponse } from 'node:http';
import type { Decision } from './limiter-store.js';

export type HeaderStyle = 'x-ratelimit' | 'ietf' | 'both';

/** One window the client is told about, with its policy item precomputed at start-up. */
export interface AdvertisedWindow {
  /** Structured-field string naming the policy, e.g. `"client"`. */
  readonly id: string;
  /** `"client";q=100;w=60` */
  readonly policy: string;
}

export function advertisedWindow(name: string, points: number, durationSec: number): AdvertisedWindow {
  const id = JSON.stringify(name);
  return { id, policy: `${id};q=${points};w=${durationSec}` };
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
