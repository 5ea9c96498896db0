/**
 * The process's OpenTelemetry SDK (@opentelemetry/sdk-node), configured only by the standard
 * `OTEL_*` environment variables: exporter (`OTEL_TRACES_EXPORTER`, default `otlp`), endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), protocol
 * (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` or `http/json`), sampler, propagators,
 * batch settings, service name (`OTEL_SERVICE_NAME`). `OTEL_SDK_DISABLED=true` turns it off.
 *
 * The SDK registers process-wide globals, so it is shared: every gateway in the process that
 * traces takes a reference, and the last one to close flushes and shuts the SDK down.
 */
import { createRequire } from 'node:module';
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';

// The SDK (with every exporter it can build) takes seconds to import: loaded only when tracing is on.
const requireSdk = createRequire(import.meta.url);

/** The service name when `OTEL_SERVICE_NAME` does not set one. */
export const DEFAULT_SERVICE_NAME = 'graphql-gateway';

/**
 * True when the environment asks for traces: the SDK is not disabled, the traces exporter is
 * not `none`, and an exporter is named or an OTLP endpoint is given. Otherwise tracing costs
 * nothing: the tracing plugin contributes no hooks at all.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (exporters.length > 0) return !(exporters.length === 1 && exporters[0] === 'none');
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

interface Runtime {
  sdk: NodeSDK;
  tracer: Tracer;
  users: number;
}

let runtime: Runtime | undefined;

/** Starts the SDK on first use and returns the gateway's tracer. Pair with {@link releaseTracing}. */
export function acquireTracing(version = '1'): Tracer {
  if (!runtime) {
    const { NodeSDK: Sdk } = requireSdk('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
    const sdk = new Sdk({
      serviceName: process.env.OTEL_SERVICE_NAME ? undefined : DEFAULT_SERVICE_NAME,
      // Traces only: the gateway's logs go to stdout (pino) and its metrics to /metrics.
      logRecordProcessors: [],
      // No async-context manager: the gateway passes span contexts explicitly, and an
      // AsyncLocalStorage manager would tax every promise in the process (null = none).
      contextManager: null as never,
    });
    sdk.start();
    runtime = { sdk, tracer: trace.getTracer('graphql-gateway', version), users: 0 };
  }
  runtime.users++;
  return runtime.tracer;
}

/** Drops one reference; the last one exports what is buffered and shuts the SDK down. */
export async function releaseTracing(): Promise<void> {
  const rt = runtime;
  if (!rt || --rt.users > 0) return;
  runtime = undefined;
  // Unregister the globals now, so a gateway started while this flush runs gets a fresh SDK.
  trace.disable();
  propagation.disable();
  context.disable();
  await rt.sdk.shutdown();
}
