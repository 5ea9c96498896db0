/**
 * The gateway's internal observation bus: upstream-layer components (breakers, retries, health
 * checks, transports) report what happens here, and telemetry (metrics, logs, traces) listens.
 * One instance per gateway, created by the server and handed to every plugin.
 *
 * Who reports what (so nothing is counted twice):
 * - `onCallEnd`: only the outcome reporter the metrics plugin puts outermost in every upstream's
 *   interceptor chain (src/telemetry/upstream-outcomes.ts), once per logical call, retries
 *   inside; outcome = HTTP status, `OK` (gRPC), or the gateway error code the call failed with.
 * - `onRetry`, `onBreakerState`, `onTargetHealth`: the resilience layer (retry, breaker, health
 *   checks), on each retry sent and each state change.
 * Listeners: the metrics plugin (src/plugins/use-metrics.ts).
 */
import type { UpstreamCall, UpstreamObserver } from '../upstream/types.js';

export class GatewayEvents implements Required<UpstreamObserver> {
  readonly #observers: UpstreamObserver[] = [];

  add(observer: UpstreamObserver): void {
    this.#observers.push(observer);
  }

  onCallEnd(upstream: string, outcome: string, durationMs: number, call: UpstreamCall): void {
    for (const o of this.#observers) o.onCallEnd?.(upstream, outcome, durationMs, call);
  }

  onRetry(upstream: string, attempt: number, reason: string): void {
    for (const o of this.#observers) o.onRetry?.(upstream, attempt, reason);
  }

  onBreakerState(upstream: string, state: 'closed' | 'half-open' | 'open'): void {
    for (const o of this.#observers) o.onBreakerState?.(upstream, state);
  }

  onTargetHealth(upstream: string, target: string, healthy: boolean): void {
    for (const o of this.#observers) o.onTargetHealth?.(upstream, target, healthy);
  }
}
