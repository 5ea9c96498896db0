/**
 * Active health checks: every `intervalMs` each target is probed (HTTP: GET `path` must answer
 * 2xx; gRPC: grpc.health.v1 Health/Check must say SERVING) within `timeoutMs`.
 * `unhealthyThreshold` failures in a row take a target out of rotation, `healthyThreshold`
 * successes bring it back. Timers are unref'd and stop with the gateway.
 */
import { Agent, request } from 'undici';
import { loadPackageDefinition, type Client, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { Target, UpstreamInfo } from '../types.js';
import type { UpstreamTls } from '../../http/tls-files.js';
import { grpcCredentials, grpcTlsOptions } from '../grpc/grpc-upstream.js';

export interface HealthSettings {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
}

export interface HealthListener {
  (upstream: string, target: string, healthy: boolean): void;
}

const HEALTH_PROTO = fileURLToPath(new URL('../grpc/health.proto', import.meta.url));
let healthCtor: ServiceClientConstructor | undefined;

function grpcHealthClient(address: string, tls: UpstreamTls | undefined): Client {
  if (!healthCtor) {
    const def = loadPackageDefinition(loadSync(HEALTH_PROTO, { keepCase: false, enums: String, defaults: true }));
    healthCtor = (((def.grpc as GrpcObject).health as GrpcObject).v1 as GrpcObject).Health as ServiceClientConstructor;
  }
  const Ctor = healthCtor;
  return new Ctor(address.replace(/^dns:/, ''), grpcCredentials(tls), grpcTlsOptions(tls));
}

export class HealthChecker {
  readonly #upstream: UpstreamInfo;
  readonly #settings: HealthSettings;
  readonly #listener: HealthListener;
  readonly #streak: number[];
  readonly #grpc: Client[] = [];
  #agent: Agent | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(upstream: UpstreamInfo, settings: HealthSettings, listener: HealthListener) {
    this.#upstream = upstream;
    this.#settings = settings;
    this.#listener = listener;
    this.#streak = upstream.targets.map(() => 0);
    if (upstream.protocol === 'grpc') for (const t of upstream.targets) this.#grpc[t.index] = grpcHealthClient(t.url, upstream.tls);
    // Probes go over the same TLS as calls (CA, client certificate): an mTLS upstream would refuse a plain one.
    else if (upstream.tls) this.#agent = new Agent({ connect: { ...upstream.tls }, connections: 1 });
  }

  start(): void {
    this.#timer = setInterval(() => void this.runOnce(), this.#settings.intervalMs);
    this.#timer.unref();
    void this.runOnce();
  }

  /** Probes every target once (exposed for tests and for the first check at start). */
  async runOnce(): Promise<void> {
    await Promise.all(this.#upstream.targets.map(async (t) => this.#apply(t, await this.#probe(t))));
  }

  #apply(t: Target, ok: boolean): void {
    if (this.#stopped) return;
    const s = this.#settings;
    // Positive streak counts successes, negative counts failures.
    const prev = this.#streak[t.index]!;
    const streak = ok ? (prev > 0 ? prev + 1 : 1) : prev < 0 ? prev - 1 : -1;
    this.#streak[t.index] = streak;
    if (t.healthy && streak <= -s.unhealthyThreshold) {
      t.healthy = false;
      this.#listener(this.#upstream.name, t.url, false);
    } else if (!t.healthy && streak >= s.healthyThreshold) {
      t.healthy = true;
      this.#listener(this.#upstream.name, t.url, true);
    }
  }

  async #probe(t: Target): Promise<boolean> {
    const s = this.#settings;
    if (this.#upstream.protocol === 'grpc') {
      const client = this.#grpc[t.index]! as unknown as { Check(req: object, opts: object, cb: (err: Error | null, res?: { status: string }) => void): void };
      return new Promise((resolve) => {
        client.Check({ service: '' }, { deadline: new Date(Date.now() + s.timeoutMs) }, (err, res) => resolve(!err && res?.status === 'SERVING'));
      });
    }
    try {
      const res = await request(`${t.url}${s.path}`, { dispatcher: this.#agent, method: 'GET', headersTimeout: s.timeoutMs, bodyTimeout: s.timeoutMs, signal: AbortSignal.timeout(s.timeoutMs) });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      // Refused, reset or timed out: all mean "not healthy" for this round.
      return false;
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const c of this.#grpc) c?.close();
    void this.#agent?.close().catch(() => undefined);
  }
}
