/**
 * The gateway's internal observation bus: upstream-layer components (breakers, retries, health
 * checks, transports) report what happens here, and telemetry (metrics, logs, traces) listens.
 * One instance per gateway, created by the server and handed to every plugin.
 *
 * Who reports what (so nothing is counted twice):
 * - `onCallEnd`: only the outcome reporter the metrics plugin puts outermost in every upstream's
 *   interceptor chain (src/telemetry/upstream-outcomes.ts), once per logical call, retries
 *   inside; outcome = HTTP status, `OK` (gRPC), or the gateway error code the call failed with.
 * - `onRetry`, `onBreakerState`, `onTargetHealth`, `onTargetState`, `onPanicState`,
 *   `onPanicPick`, `onCallRefused`: the resilience layer (retries, passive detection per target,
 *   health checks, the balancer), on each retry sent, state change, panic-routed call and call
 *   refused before reaching a target.
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

  onTargetState(upstream: string, target: string, state: 'in' | 'probing' | 'ejected', ejectMs: number): void {
    for (const o of this.#observers) o.onTargetState?.(upstream, target, state, ejectMs);
  }

  onPanicState(upstream: string, active: boolean): void {
    for (const o of this.#observers) o.onPanicState?.(upstream, active);
  }

  onPanicPick(upstream: string): void {
    for (const o of this.#observers) o.onPanicPick?.(upstream);
  }

  onCallRefused(upstream: string, reason: string): void {
    for (const o of this.#observers) o.onCallRefused?.(upstream, reason);
  }
}
