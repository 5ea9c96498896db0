/**
 * Resilience per upstream, as interceptors in the upstream layer (shared by GraphQL resolvers
 * and passthrough routes). Per attempt, outermost first:
 *
 *   retry (idempotent only, budgeted, deadline-bound)
 *     → circuit breaker (fails fast while open)
 *       → balancer (target choice, outlier ejection; active health checks feed it)
 *         → transport
 *
 * Every piece is built once per upstream at start-up; nothing is allocated per call but the
 * retry's copy of the call object.
 */
import type { GatewayConfig, UpstreamConfig } from '../config/schema.js';
import type { GatewayEvents } from '../telemetry/events.js';
import type { Interceptor, UpstreamCall, Invoke, UpstreamInfo } from '../upstream/types.js';
import { Balancer } from '../upstream/resilience/balancer.js';
import { CircuitBreaker, breakerInterceptor, isUpstreamFailure } from '../upstream/resilience/breaker.js';
import { HealthChecker } from '../upstream/resilience/health-check.js';
import { RetryBudget, retryInterceptor } from '../upstream/resilience/retry.js';
import type { GatewayPlugin } from './types.js';
import { isNeutral } from '../client-fault.js';

/** Options for {@link useResilience}. */
export interface ResilienceOptions {
  /** The configured upstreams (retry, circuitBreaker, balancer, hashOn, healthCheck, outlierDetection). */
  upstreams: GatewayConfig['upstreams'];
  /** Where breaker states, retries and target health are reported. */
  events: GatewayEvents;
}

function balancerInterceptor(cfg: UpstreamConfig, events: GatewayEvents, checkers: HealthChecker[]): Interceptor {
  return (<C extends UpstreamCall, R>(next: Invoke<C, R>, upstream: UpstreamInfo): Invoke<C, R> => {
    const balancer = new Balancer(upstream.name, upstream.targets, cfg.balancer, cfg.hashOn, cfg.outlierDetection);
    if (cfg.healthCheck) {
      const checker = new HealthChecker(upstream, cfg.healthCheck, (u, t, healthy) => events.onTargetHealth(u, t, healthy));
      checkers.push(checker);
      checker.start();
    }
    return async (call) => {
      const target = balancer.pick(call.ctx);
      call.target = target;
      let result: R;
      try {
        result = await next(call);
      } catch (err) {
        // A call the client ended says nothing about the target.
        if (isNeutral(err)) throw err;
        if (balancer.record(target, isUpstreamFailure(upstream, undefined, err))) events.onTargetHealth(upstream.name, target.url, false);
        throw err;
      }
      if (balancer.record(target, upstream.isFailure(result))) events.onTargetHealth(upstream.name, target.url, false);
      return result;
    };
  }) as Interceptor;
}

export function useResilience(opts: ResilienceOptions): GatewayPlugin {
  const checkers: HealthChecker[] = [];
  const { events } = opts;
  return {
    name: 'resilience',
    interceptorsFor(name) {
      const cfg = opts.upstreams[name];
      if (!cfg) return [];
      const out: Interceptor[] = [];
      const retry = cfg.retry;
      if (retry && retry.attempts > 0) {
        const budget = new RetryBudget(retry.budgetPercent);
        out.push(((next: Invoke<UpstreamCall, unknown>, upstream: UpstreamInfo) =>
          retryInterceptor(next, upstream, retry, budget, (u, attempt, reason) => events.onRetry(u, attempt, reason))) as Interceptor);
      }
      const cb = cfg.circuitBreaker;
      if (cb) {
        const breaker = new CircuitBreaker(name, cb, (u, state) => events.onBreakerState(u, state));
        out.push(((next: Invoke<UpstreamCall, unknown>, upstream: UpstreamInfo) => breakerInterceptor(next, upstream, breaker)) as Interceptor);
      }
      if (cfg.targets.length > 1 || cfg.healthCheck || cfg.outlierDetection) out.push(balancerInterceptor(cfg, events, checkers));
      return out;
    },
    close() {
      for (const c of checkers) c.stop();
    },
  };
}
