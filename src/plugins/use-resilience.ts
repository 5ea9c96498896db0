/**
 * Resilience per upstream, as interceptors in the upstream layer (shared by GraphQL resolvers
 * and passthrough routes). Per attempt, outermost first:
 *
 *   retry (idempotent only, budgeted, deadline-bound, to another target when there is one)
 *     → balancer (target choice among those that can serve; passive detection per target,
 *       whose "every target ejected" is the upstream's open circuit; health checks feed it)
 *       → transport
 *
 * Every piece is built once per upstream at start-up; nothing is allocated per call but the
 * retry's copy of the call object.
 */
import type { GatewayConfig, UpstreamConfig } from '../config/schema.js';
import type { GatewayEvents } from '../telemetry/events.js';
import type { Logger } from '../telemetry/logger.js';
import type { Interceptor, UpstreamCall, Invoke, UpstreamInfo } from '../upstream/types.js';
import { Balancer } from '../upstream/resilience/balancer.js';
import { OutlierDetector, isUpstreamFailure, type OutlierSettings } from '../upstream/resilience/outlier.js';
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
  /** Where ejections, returns and panic routing are logged. */
  logger?: Pick<Logger, 'warn' | 'info'>;
}

/** Growth cap of an ejection when `outlierDetection.maxEjectMs` is not set: ten times the base. */
const DEFAULT_GROWTH = 10;

/**
 * Passive detection settings from `circuitBreaker` and `outlierDetection`, or undefined when
 * neither is configured. With only outlier detection, the last target that can serve is never
 * ejected (a degraded answer beats none); a circuit breaker makes that case fail fast.
 */
export function outlierSettings(cfg: UpstreamConfig): OutlierSettings | undefined {
  const cb = cfg.circuitBreaker;
  const od = cfg.outlierDetection;
  if (!cb && !od) return undefined;
  const ejectMs = od?.ejectMs ?? cb?.openMs ?? 30_000;
  return {
    consecutiveFailures: od?.consecutiveFailures ?? cb?.failureThreshold ?? 5,
    failureRatePercent: od?.failureRatePercent,
    minRequests: od?.minRequests ?? 20,
    windowMs: od?.windowMs ?? 10_000,
    ejectMs,
    maxEjectMs: Math.max(ejectMs, od?.maxEjectMs ?? ejectMs * DEFAULT_GROWTH),
    maxEjectionPercent: od?.maxEjectionPercent ?? 50,
    successThreshold: cb?.successThreshold ?? 1,
    halfOpenMaxCalls: cb?.halfOpenMaxCalls ?? 1,
    ejectLast: cb !== undefined,
  };
}

function balancerInterceptor(cfg: UpstreamConfig, opts: ResilienceOptions, checkers: HealthChecker[]): Interceptor {
  const { events, logger } = opts;
  return (<C extends UpstreamCall, R>(next: Invoke<C, R>, upstream: UpstreamInfo): Invoke<C, R> => {
    const settings = outlierSettings(cfg);
    const outlier = settings
      ? new OutlierDetector(upstream.name, upstream.targets.map((t) => t.url), settings, {
          onTargetState(u, target, state, ejectMs) {
            events.onTargetState(u, target, state, ejectMs);
            if (state === 'ejected') logger?.warn({ upstream: u, target, ejectMs }, 'upstream target ejected');
            else if (state === 'in') logger?.info({ upstream: u, target }, 'upstream target back in rotation');
          },
          onCircuitState(u, state) {
            events.onBreakerState(u, state);
            logger?.warn({ upstream: u, circuit: state }, `upstream circuit ${state}`);
          },
        })
      : undefined;
    const balancer = new Balancer(upstream.name, upstream.targets, {
      kind: cfg.balancer,
      hashOn: cfg.hashOn,
      outlier,
      panicThresholdPercent: cfg.panicThresholdPercent,
      panic: {
        onPanicState(u, active) {
          events.onPanicState(u, active);
          logger?.warn({ upstream: u, panic: active }, active ? 'too few healthy targets: routing to all (panic threshold)' : 'enough healthy targets again: panic routing ended');
        },
        onPanicPick(u) {
          events.onPanicPick(u);
        },
      },
    });
    if (cfg.healthCheck) {
      const checker = new HealthChecker(upstream, cfg.healthCheck, (u, t, healthy) => events.onTargetHealth(u, t, healthy));
      checkers.push(checker);
      checker.start();
    }
    return async (call) => {
      let target;
      try {
        target = balancer.pick(call.ctx, call.avoid);
      } catch (err) {
        events.onCallRefused(upstream.name, balancer.lastRefusal);
        throw err;
      }
      call.target = target;
      if (outlier === undefined) return next(call);
      const admission = outlier.admit(target.index);
      let result: R;
      try {
        result = await next(call);
      } catch (err) {
        // A call the client ended (or one that never reached the target) says nothing about it.
        if (isNeutral(err)) outlier.release(target.index, admission);
        else outlier.record(target.index, isUpstreamFailure(upstream, undefined, err), Date.now(), admission);
        throw err;
      }
      outlier.record(target.index, upstream.isFailure(result), Date.now(), admission);
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
      if (cfg.targets.length > 1 || cfg.healthCheck || cfg.outlierDetection || cfg.circuitBreaker) out.push(balancerInterceptor(cfg, opts, checkers));
      return out;
    },
    close() {
      for (const c of checkers) c.stop();
    },
  };
}
