/**
 * A gRPC upstream: one grpc-js client per target for the configured service, behind the same
 * interceptor chain as HTTP upstreams. Deadlines travel as gRPC deadlines.
 */
import { credentials, loadPackageDefinition, type ChannelCredentials, Metadata, status as GrpcStatus, type Client, type ServiceError, type ServiceClientConstructor, type GrpcObject } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { resolve } from 'node:path';
import { UpstreamError, UpstreamReportedTimeout, UpstreamTimeout, UpstreamUnavailable, GatewayError, isGatewayError } from '../../errors.js';
import { markNeutral } from '../../client-fault.js';
import type { UpstreamConfig } from '../../config/schema.js';
import type { RequestContext } from '../../context.js';
import type { GrpcCall, GrpcResult, Interceptor, Invoke, Target, UpstreamInfo, UpstreamLog } from '../types.js';
import { createTargets } from '../targets.js';
import type { UpstreamTls } from '../../http/tls-files.js';
import { writeIdentityHeaders } from '../../http/reserved-headers.js';
import { readProtoService } from './proto-service.js';

/** Codes that mean the upstream failed (as opposed to rejecting the request). */
const FAILURE_CODES = new Set<number>([
  GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.INTERNAL, GrpcStatus.UNKNOWN,
  GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.DATA_LOSS, GrpcStatus.ABORTED,
]);

/** A DEADLINE_EXCEEDED this long before our deadline is the upstream's own. */
const OWN_DEADLINE_SLACK_MS = 20;

export interface LoadedService {
  ctor: ServiceClientConstructor;
  fullName: string;
  methods: Set<string>;
  /** Each method's request type, for checking a message before it is sent (see src/proxy/grpc-message.ts). */
  requestTypes: Map<string, protobuf.Type>;
}

/** Loads a service constructor from a .proto file (./proto-service.ts chooses the service); throws a message naming the file on problems. */
export function loadService(protoPath: string, serviceName?: string): LoadedService {
  const proto = readProtoService(protoPath, serviceName);
  let ctor: unknown = loadPackageDefinition(proto.packageDefinition);
  for (const part of proto.fullName.split('.')) ctor = (ctor as GrpcObject)[part];
  return { ctor: ctor as ServiceClientConstructor, fullName: proto.fullName, methods: new Set(proto.methods), requestTypes: proto.requestTypes };
}

/**
 * Maps a gRPC status to the gateway's upstream errors. The client-facing message names the
 * upstream and the status only: `details` may carry paths, queries or stack traces, so they
 * stay in the log (see GrpcUpstream#send) and in `cause`.
 */
export function mapGrpcError(upstream: string, err: ServiceError, timeoutMs: number, beforeOurDeadline = false): GatewayError {
  if (err.code === GrpcStatus.DEADLINE_EXCEEDED) {
    // Before our own deadline, the upstream (or a service behind it) ran out of time: say so.
    return (beforeOurDeadline ? UpstreamReportedTimeout(upstream, 'gRPC DEADLINE_EXCEEDED') : UpstreamTimeout(upstream, timeoutMs)).asUpstreamFailure(err);
  }
  if (err.code === GrpcStatus.UNAVAILABLE) return UpstreamUnavailable(upstream, 'gRPC UNAVAILABLE').asUpstreamFailure(err);
  const e = UpstreamError(upstream, `gRPC ${GrpcStatus[err.code] ?? err.code}`);
  if (FAILURE_CODES.has(err.code)) e.asUpstreamFailure(err);
  else e.cause = err;
  return e;
}

/** Channel credentials: TLS (CA, client certificate) with `tls`, plaintext without. */
export function grpcCredentials(tls: UpstreamTls | undefined): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  const verify = tls.rejectUnauthorized ? {} : { rejectUnauthorized: false };
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, verify);
}

/** `servername`: the name the target's certificate is checked against (and sent as SNI / authority). */
export function grpcTlsOptions(tls: UpstreamTls | undefined): Record<string, string> {
  return tls?.servername ? { 'grpc.ssl_target_name_override': tls.servername, 'grpc.default_authority': tls.servername } : {};
}

export class GrpcUpstream implements UpstreamInfo {
  readonly name: string;
  readonly protocol = 'grpc' as const;
  readonly config: UpstreamConfig;
  readonly targets: Target[];
  readonly tls: UpstreamTls | undefined;
  readonly service: LoadedService;
  /** Request message type per method name. */
  readonly requestTypes: Map<string, protobuf.Type>;
  readonly #clients: Client[];
  readonly #invoke: Invoke<GrpcCall, GrpcResult>;
  readonly #idempotent: Set<string>;
  readonly #log: UpstreamLog | undefined;

  constructor(name: string, config: UpstreamConfig, projectRoot: string, interceptors: Interceptor[], log?: UpstreamLog, tls?: UpstreamTls) {
    this.name = name;
    this.tls = tls;
    this.#log = log;
    this.config = config;
    this.targets = createTargets(config);
    const protoPath = resolve(projectRoot, config.proto ?? `upstreams/${name}/${name}.proto`);
    this.service = loadService(protoPath, config.service);
    this.requestTypes = this.service.requestTypes;
    this.#idempotent = new Set(config.idempotentMethods);
    this.#clients = this.targets.map(
      (t) =>
        new this.service.ctor(t.url.replace(/^dns:/, ''), grpcCredentials(tls), {
          'grpc.keepalive_time_ms': 30_000,
          'grpc.enable_retries': 0,
          ...grpcTlsOptions(tls),
        }),
    );
    let invoke: Invoke<GrpcCall, GrpcResult> = (call) => this.#send(call);
    for (let i = interceptors.length - 1; i >= 0; i--) invoke = interceptors[i]!(invoke, this);
    this.#invoke = invoke;
  }

  isFailure(): boolean {
    // gRPC failures arrive as thrown errors; a settled call is a success.
    return false;
  }

  /** Builds metadata carrying the request id and verified identity. */
  metadataFor(ctx: RequestContext | undefined): Metadata {
    const md = new Metadata();
    if (!ctx) return md;
    md.set('x-request-id', ctx.id);
    if (ctx.identity !== undefined && ctx.identity.kind !== 'anonymous') {
      const headers: Record<string, string> = {};
      writeIdentityHeaders(headers, ctx.identity, true);
      for (const name in headers) md.set(name, headers[name]!);
    }
    return md;
  }

  /** Calls a unary method through the interceptor chain. */
  async unary<T>(ctx: RequestContext | undefined, method: string, request: unknown, opts: { idempotent?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const own = Date.now() + (opts.timeoutMs ?? this.config.timeoutMs);
    const deadline = ctx && ctx.deadline < own ? ctx.deadline : own;
    const result = await this.#invoke({
      deadline,
      idempotent: opts.idempotent ?? this.#idempotent.has(method),
      ctx,
      target: undefined,
      attempt: 0,
      avoid: 0,
      method,
      request,
      metadata: this.metadataFor(ctx),
    });
    if (ctx) ctx.upstreamCalls++;
    return result.response as T;
  }

  #send(call: GrpcCall): Promise<GrpcResult> {
    const target = call.target ?? this.targets[0]!;
    const client = this.#clients[target.index]! as unknown as Record<string, (req: unknown, md: Metadata, opts: object, cb: (err: ServiceError | null, res: unknown) => void) => void>;
    const fn = client[call.method];
    // Neither of these reached the target: they say nothing about it (src/client-fault.ts).
    if (typeof fn !== 'function') {
      return Promise.reject(markNeutral(UpstreamError(this.name, `unknown gRPC method ${call.method}`)));
    }
    const remaining = call.deadline - Date.now();
    if (remaining <= 0) return Promise.reject(markNeutral(UpstreamTimeout(this.name, this.config.timeoutMs)));
    target.active++;
    return new Promise<GrpcResult>((resolveCall, reject) => {
      fn.call(client, call.request, call.metadata ?? new Metadata(), { deadline: new Date(call.deadline) }, (err, response) => {
        target.active--;
        if (!err) return resolveCall({ response, target });
        if (isGatewayError(err)) return reject(err);
        this.#log?.warn({ upstream: this.name, requestId: call.ctx?.id, method: call.method, grpcCode: GrpcStatus[err.code] ?? err.code, details: err.details }, 'upstream gRPC error');
        reject(mapGrpcError(this.name, err, Math.round(remaining), Date.now() < call.deadline - OWN_DEADLINE_SLACK_MS));
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.close();
  }
}
