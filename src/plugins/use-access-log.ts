import { performance } from 'node:perf_hooks';
import { infoLineWriter, type Logger } from '../telemetry/logger.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useAccessLog}. */
export interface AccessLogOptions {
  logger: Logger;
  /** Write the line at all. @default true */
  enabled?: boolean;
}

/**
 * One JSON line per request on stdout: method, path, status, latency, route, upstream,
 * client IP, request id, and what else the chain learned (operation, identity, limits, error).
 * Headers are never logged, so tokens and keys cannot leak through it.
 */
export function useAccessLog(opts: AccessLogOptions): GatewayPlugin {
  if (opts.enabled === false) return { name: 'access-log' };
  const write = infoLineWriter(opts.logger, 'request');
  return {
    name: 'access-log',
    onDone(ctx) {
      const res = ctx.res;
      write({
        type: 'access',
        requestId: ctx.id,
        method: ctx.method,
        path: ctx.path,
        status: res.writableFinished ? res.statusCode : 499,
        latencyMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
        route: ctx.routeLabel,
        upstream: ctx.upstream,
        upstreamCalls: ctx.upstreamCalls || undefined,
        clientIp: ctx.ip || ctx.req.socket.remoteAddress,
        clientId: ctx.identity?.clientId,
        operationName: ctx.operationName,
        graphql: ctx.graphqlPath,
        errorCode: ctx.errorCode,
        limits: ctx.limits,
        traceId: ctx.traceId,
      });
    },
  };
}
