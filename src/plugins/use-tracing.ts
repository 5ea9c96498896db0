/**
 * OpenTelemetry traces, on only when the `OTEL_*` environment asks for them
 * (src/telemetry/tracing.ts); otherwise this plugin has no hooks and costs nothing.
 *
 * Span tree of one request:
 *   `POST graphql` (server; parent taken from the client's `traceparent`/`tracestate`)
 *     ├ graphql.parse · graphql.validate
 *     └ graphql.execute
 *         └ `GET users` / `catalog/GetProducts` (client, one per upstream call)
 * Passthrough requests have the server span and the client span of the proxied call.
 *
 * Contexts are passed explicitly (kept on the request context), so nothing depends on
 * async-context propagation. Each client span's context goes upstream as W3C `traceparent`
 * (and `tracestate`): HTTP headers, or gRPC metadata. `ctx.traceId` carries the trace id to
 * the access log and the passthrough headers.
 */
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapSetter, type Tracer } from '@opentelemetry/api';
import { Metadata } from '@grpc/grpc-js';
import { getOperationAST, type ExecutionResult } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { StateKey, type RequestContext } from '../context.js';
import { isGatewayError } from '../errors.js';
import type { GraphQLContext } from '../graphql/define-resolvers.js';
import { acquireTracing, releaseTracing, tracingRequested } from '../telemetry/tracing.js';
import type { GrpcCall, HttpCall, Interceptor, Invoke, UpstreamCall, UpstreamInfo } from '../upstream/types.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useTracing}. */
export interface TracingOptions {
  /** Where to read the `OTEL_*` switches from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

const SPAN = new StateKey<Span>('tracing.span');
/** Context of the request's server span. */
const REQ_CTX = new StateKey<Context>('tracing.ctx');
/** Context of the GraphQL execute span, the parent of upstream calls made while executing. */
const EXEC_CTX = new StateKey<Context>('tracing.execCtx');

const metadataSetter: TextMapSetter<Metadata> = {
  set(md, key, value) {
    md.set(key, value);
  },
};

function spanContextOf(ctx: RequestContext | undefined): Context | undefined {
  if (!ctx) return undefined;
  return ctx.get(EXEC_CTX) ?? ctx.get(REQ_CTX);
}

function fail(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: isGatewayError(err) ? err.code : (err as Error)?.message });
  if (isGatewayError(err)) span.setAttribute('error.type', err.code);
}

function clientSpans(tracer: Tracer): Interceptor {
  return (<C extends UpstreamCall, R>(next: Invoke<C, R>, upstream: UpstreamInfo): Invoke<C, R> => {
    const name = upstream.name;
    const grpc = upstream.protocol === 'grpc';
    const service = grpc ? name : '';
    return async (call: C): Promise<R> => {
      const parent = spanContextOf(call.ctx);
      // Calls outside a request (health checks) are not traced.
      if (!parent) return next(call);
      const method = (call as unknown as HttpCall | GrpcCall).method;
      const span = tracer.startSpan(
        grpc ? `${service}/${method}` : `${method} ${name}`,
        {
          kind: SpanKind.CLIENT,
          attributes: grpc
            ? { 'rpc.system': 'grpc', 'rpc.method': method, 'gateway.upstream': name }
            : { 'http.request.method': method, 'url.path': (call as unknown as HttpCall).path, 'gateway.upstream': name },
        },
        parent,
      );
      const spanCtx = trace.setSpan(parent, span);
      if (grpc) {
        const g = call as unknown as GrpcCall;
        g.metadata ??= new Metadata();
        propagation.inject(spanCtx, g.metadata, metadataSetter);
      } else {
        propagation.inject(spanCtx, (call as unknown as HttpCall).headers);
      }
      try {
        const result = await next(call);
        const target = (result as { target?: { url: string } }).target;
        if (target) span.setAttribute('server.address', target.url);
        const status = (result as { statusCode?: number }).statusCode;
        if (typeof status === 'number') {
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        }
        return result;
      } catch (err) {
        fail(span, err);
        throw err;
      } finally {
        span.end();
      }
    };
  }) as Interceptor;
}

function graphqlSpans(tracer: Tracer): YogaPlugin {
  return {
    onParse({ context }) {
      const gw = (context as Partial<GraphQLContext>).gw;
      const parent = gw?.get(REQ_CTX);
      if (!parent) return;
      const span = tracer.startSpan('graphql.parse', undefined, parent);
      return ({ result }) => {
        if (result instanceof Error) fail(span, result);
        span.end();
      };
    },
    onValidate({ context }) {
      const gw = (context as Partial<GraphQLContext>).gw;
      const parent = gw?.get(REQ_CTX);
      if (!parent) return;
      const span = tracer.startSpan('graphql.validate', undefined, parent);
      return ({ valid }) => {
        if (!valid) span.setStatus({ code: SpanStatusCode.ERROR, message: 'invalid operation' });
        span.end();
      };
    },
    onExecute({ args }) {
      const gw = (args.contextValue as Partial<GraphQLContext>).gw;
      const parent = gw?.get(REQ_CTX);
      if (!gw || !parent) return;
      const op = getOperationAST(args.document, args.operationName);
      const span = tracer.startSpan('graphql.execute', { attributes: { 'graphql.operation.type': op?.operation ?? 'unknown' } }, parent);
      if (op?.name) span.setAttribute('graphql.operation.name', op.name.value);
      gw.set(EXEC_CTX, trace.setSpan(parent, span));
      return {
        onExecuteDone({ result }) {
          const errors = Symbol.asyncIterator in result ? undefined : (result as ExecutionResult).errors;
          if (errors?.length) {
            span.setAttribute('graphql.error.count', errors.length);
            span.setStatus({ code: SpanStatusCode.ERROR, message: String(errors[0]!.extensions?.code ?? errors[0]!.message) });
          }
          span.end();
          gw.set(EXEC_CTX, undefined);
        },
      };
    },
  };
}

export function useTracing(opts: TracingOptions = {}): GatewayPlugin {
  if (!tracingRequested(opts.env ?? process.env)) return { name: 'tracing' };
  const tracer = acquireTracing();
  const interceptor = clientSpans(tracer);
  return {
    name: 'tracing',
    yogaPlugins: [graphqlSpans(tracer)],
    observesEveryParse: true,
    onRequest(ctx) {
      const parent = propagation.extract(ROOT_CONTEXT, ctx.req.headers);
      const span = tracer.startSpan(
        `${ctx.method} ${ctx.routeLabel}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': ctx.method, 'url.path': ctx.path, 'http.route': ctx.routeLabel, 'client.address': ctx.req.socket.remoteAddress ?? '' },
        },
        parent,
      );
      ctx.set(SPAN, span);
      ctx.set(REQ_CTX, trace.setSpan(parent, span));
      ctx.traceId = span.spanContext().traceId;
    },
    onDone(ctx) {
      const span = ctx.get(SPAN);
      if (!span) return;
      const status = ctx.res.writableFinished ? ctx.res.statusCode : 499;
      span.setAttribute('http.response.status_code', status);
      span.setAttribute('gateway.request_id', ctx.id);
      if (ctx.identity) span.setAttribute('gateway.client_id', ctx.identity.clientId);
      if (ctx.errorCode) span.setAttribute('error.type', ctx.errorCode);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.errorCode });
      span.end();
    },
    interceptorsFor() {
      return [interceptor];
    },
    close() {
      return releaseTracing();
    },
  };
}
