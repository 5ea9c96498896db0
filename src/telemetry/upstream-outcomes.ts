/**
 * The interceptor that reports every upstream call's outcome on the {@link GatewayEvents} bus
 * (`onCallEnd`), where metrics and any other observer pick it up. It is the one reporter of
 * `onCallEnd`: other components report retries, breaker states and target health.
 *
 * Placed outermost in an upstream's chain, it sees the logical call: retries are inside it,
 * and a call refused before reaching any target (open circuit) is not reported here: the
 * resilience layer counts it apart (`onCallRefused`).
 */
import { performance } from 'node:perf_hooks';
import { isGatewayError } from '../errors.js';
import type { Interceptor, Invoke, UpstreamCall, UpstreamInfo } from '../upstream/types.js';
import type { GatewayEvents } from './events.js';

/**
 * The outcome label of a call: the HTTP status (`200`, `503`), `OK` for a gRPC answer, the
 * gateway error code a failed call ended with (`UPSTREAM_TIMEOUT`…), else `ERROR`. A call the
 * client ended carries the client's code (`CLIENT_CLOSED_REQUEST`, `REQUEST_TIMEOUT`,
 * `PAYLOAD_TOO_LARGE`, see src/client-fault.ts), so it never reads as the upstream failing.
 */
export function outcomeOf(result: unknown): string {
  const status = (result as { statusCode?: number } | undefined)?.statusCode;
  return typeof status === 'number' ? String(status) : 'OK';
}

export function errorOutcome(err: unknown): string {
  return isGatewayError(err) ? err.code : 'ERROR';
}

/** Adds an upstream to the request's `upstream` field for the access log (`users,catalog`). */
function noteUpstream(call: UpstreamCall, name: string): void {
  const ctx = call.ctx;
  if (!ctx) return;
  const seen = ctx.upstream;
  if (seen === undefined) ctx.upstream = name;
  else if (seen !== name && !seen.split(',').includes(name)) ctx.upstream = `${seen},${name}`;
}

export function createOutcomeReporter(events: GatewayEvents): Interceptor {
  return (<C extends UpstreamCall, R>(next: Invoke<C, R>, upstream: UpstreamInfo): Invoke<C, R> => {
    const name = upstream.name;
    return async (call: C): Promise<R> => {
      const t0 = performance.now();
      noteUpstream(call, name);
      try {
        const result = await next(call);
        events.onCallEnd(name, outcomeOf(result), performance.now() - t0, call);
        return result;
      } catch (err) {
        // Refused before reaching a target: counted by the resilience layer (onCallRefused), not as an upstream call.
        if (!isGatewayError(err) || !err.refused) events.onCallEnd(name, errorOutcome(err), performance.now() - t0, call);
        throw err;
      }
    };
  }) as Interceptor;
}
