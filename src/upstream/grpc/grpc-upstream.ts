/**
 * A gRPC upstream: one grpc-js client per target for the configured service, behind the same
 * interceptor chain as HTTP upstreams. Deadlines travel as gRPC deadlines.
 */
import { credentials, loadPackageDefinition, Metadata, status as GrpcStatus, type Client, type ServiceError, type ServiceClientConstructor, type GrpcObject } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UpstreamError, UpstreamTimeout, UpstreamUnavailable, GatewayError, isGatewayError } from '../../errors.js';
import type { UpstreamConfig } from '../../config/schema.js';
import type { RequestContext } from '../../context.js';
import type { GrpcCall, GrpcResult, Interceptor, Invoke, Target, UpstreamInfo } from '../types.js';
import { createTargets } from '../targets.js';

/** Codes that mean the upstream failed (as opposed to rejecting the request). */
const FAILURE_CODES = new Set<number>([
  GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.INTERNAL, GrpcStatus.UNKNOWN,
  GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.DATA_LOSS, GrpcStatus.ABORTED,
]);

export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

export interface LoadedService {
  ctor: ServiceClientConstructor;
  fullName: string;
  methods: Set<string>;
}

/** Loads a service constructor from a .proto file; throws a message naming the file on problems. */
export function loadService(protoPath: string, serviceName?: string): LoadedService {
  if (!existsSync(protoPath)) throw new Error(`${protoPath}: proto file not found`);
  const def = loadSync(protoPath, PROTO_LOADER_OPTIONS);
  const services = Object.entries(def).filter(([, v]) => typeof v === 'object' && v !== null && !('format' in v));
  const entry = serviceName ? services.find(([k]) => k === serviceName) : services[0];
  if (!entry) throw new Error(`${protoPath}: service ${serviceName ?? '(any)'} not found`);
  const grpcObject = loadPackageDefinition(def);
  let ctor: unknown = grpcObject;
  for (const part of entry[0].split('.')) ctor = (ctor as GrpcObject)[part];
  return { ctor: ctor as ServiceClientConstructor, fullName: entry[0], methods: new Set(Object.keys(entry[1] as object)) };
}

export function mapGrpcError(upstream: string, err: ServiceError, timeoutMs: number): GatewayError {
  if (err.code === GrpcStatus.DEADLINE_EXCEEDED) return UpstreamTimeout(upstream, timeoutMs).asUpstreamFailure(err);
  if (err.code === GrpcStatus.UNAVAILABLE) return UpstreamUnavailable(upstream, err.details || 'unavailable').asUpstreamFailure(err);
  const e = UpstreamError(upstream, `gRPC ${GrpcStatus[err.code] ?? err.code}: ${err.details}`);
  if (FAILURE_CODES.has(err.code)) e.asUpstreamFailure(err);
  else e.cause = err;
  return e;
}

export class GrpcUpstream implements UpstreamInfo {
  readonly name: string;
  readonly protocol = 'grpc' as const;
  readonly config: UpstreamConfig;
  readonly targets: Target[];
  readonly service: LoadedService;
  readonly #clients: Client[];
  readonly #invoke: Invoke<GrpcCall, GrpcResult>;
  readonly #idempotent: Set<string>;

  constructor(name: string, config: UpstreamConfig, projectRoot: string, interceptors: Interceptor[]) {
    this.name = name;
    this.config = config;
    this.targets = createTargets(config);
    const protoPath = resolve(projectRoot, config.proto ?? `upstreams/${name}/${name}.proto`);
    this.service = loadService(protoPath, config.service);
    this.#idempotent = new Set(config.idempotentMethods);
    this.#clients = this.targets.map(
      (t) =>
        new this.service.ctor(t.url.replace(/^dns:/, ''), credentials.createInsecure(), {
          'grpc.keepalive_time_ms': 30_000,
          'grpc.enable_retries': 0,
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
    const id = ctx.identity;
    if (id && id.kind !== 'anonymous') {
      if (id.subject) md.set('x-user-id', id.subject);
      md.set('x-user-roles', id.roles.join(','));
      md.set('x-client-id', id.clientId);
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
    if (typeof fn !== 'function') {
      return Promise.reject(UpstreamError(this.name, `unknown gRPC method ${call.method}`));
    }
    const remaining = call.deadline - Date.now();
    if (remaining <= 0) return Promise.reject(UpstreamTimeout(this.name, this.config.timeoutMs).asUpstreamFailure());
    target.active++;
    return new Promise<GrpcResult>((resolveCall, reject) => {
      fn.call(client, call.request, call.metadata ?? new Metadata(), { deadline: new Date(call.deadline) }, (err, response) => {
        target.active--;
        if (err) reject(isGatewayError(err) ? err : mapGrpcError(this.name, err, Math.round(remaining)));
        else resolveCall({ response, target });
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.close();
  }
}
