/**
 * Builds every configured upstream once at start-up, with the interceptor chain the
 * resilience and telemetry layers contribute.
 */
import type { GatewayConfig } from '../config/schema.js';
import { GrpcUpstream } from './grpc/grpc-upstream.js';
import { HttpUpstream } from './http/http-upstream.js';
import { loadUpstreamTls } from '../http/tls-files.js';
import type { Interceptor, UpstreamInfo, UpstreamLog } from './types.js';

export interface UpstreamsOptions {
  /** Directory that relative proto paths resolve against. */
  projectRoot: string;
  /** Directory that relative `tls` file paths resolve against (the config file's). @default projectRoot */
  configDir?: string;
  /** Interceptors per upstream, outermost first. */
  interceptorsFor?: (name: string, info: { protocol: 'http' | 'grpc' }) => Interceptor[];
  /** Receives upstream error details kept from clients. */
  log?: UpstreamLog;
}

export class Upstreams {
  readonly #http = new Map<string, HttpUpstream>();
  readonly #grpc = new Map<string, GrpcUpstream>();

  constructor(config: GatewayConfig['upstreams'], opts: UpstreamsOptions) {
    for (const [name, cfg] of Object.entries(config)) {
      const interceptors = opts.interceptorsFor?.(name, { protocol: cfg.protocol }) ?? [];
      const tls = cfg.tls ? loadUpstreamTls(name, cfg.tls, opts.configDir ?? opts.projectRoot) : undefined;
      if (cfg.protocol === 'grpc') this.#grpc.set(name, new GrpcUpstream(name, cfg, opts.projectRoot, interceptors, opts.log, tls));
      else this.#http.set(name, new HttpUpstream(name, cfg, interceptors, opts.log, tls));
    }
  }

  http(name: string): HttpUpstream {
    const u = this.#http.get(name);
    if (!u) throw new Error(`no http upstream named "${name}"`);
    return u;
  }

  grpc(name: string): GrpcUpstream {
    const u = this.#grpc.get(name);
    if (!u) throw new Error(`no grpc upstream named "${name}"`);
    return u;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#http.values(), ...this.#grpc.values()].map((u) => u.close()));
  }
}
