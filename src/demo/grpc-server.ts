/**
 * The gRPC side of the demo kit: a grpc-js server for one service of a team's proto, plus the
 * standard `grpc.health.v1.Health/Check`, that records every call and applies the recorder's
 * misbehaviour (`failStatus` is a gRPC status code here: 14 UNAVAILABLE, 13 INTERNAL; `drop`
 * answers UNAVAILABLE; `delayMs` delays; `failHealth` extends them to health checks).
 */
import { Server, ServerCredentials, Metadata, loadPackageDefinition, status as GrpcStatus, type GrpcObject, type ServiceClientConstructor, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { Recorder } from './recorder.js';

const HEALTH_PROTO = fileURLToPath(new URL('../upstream/grpc/health.proto', import.meta.url));
const LOADER = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true } as const;

export interface DemoGrpcServer {
  /** host:port, what the upstream's target becomes. */
  address: string;
  port: number;
  recorder: Recorder;
  close(): Promise<void>;
}

export interface GrpcDemoOptions {
  /** The .proto file that defines `service`. */
  proto: string;
  /** Fully qualified service name, e.g. `catalog.v1.Catalog`. */
  service: string;
  /** Unary methods by name: request message in, response message out. */
  handlers: Record<string, (request: any) => unknown>;
  port?: number;
  host?: string;
  /** Server credentials, e.g. TLS for a test of a TLS upstream. @default plaintext */
  credentials?: ServerCredentials;
}

function service(proto: string, name: string): ServiceClientConstructor {
  let obj: unknown = loadPackageDefinition(loadSync(proto, LOADER));
  for (const p of name.split('.')) obj = (obj as GrpcObject)[p];
  return obj as ServiceClientConstructor;
}

export async function startGrpcUpstream(opts: GrpcDemoOptions): Promise<DemoGrpcServer> {
  const recorder = new Recorder();
  const server = new Server();
  const host = opts.host ?? '127.0.0.1';

  function guard(name: string, health: boolean, fn: (req: unknown) => unknown) {
    return (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
      recorder.record({ method: 'POST', path: name, query: new URLSearchParams(), headers: call.metadata.getMap() as Record<string, string>, request: call.request });
      const b = recorder.behaviour;
      const misbehave = !health || b.failHealth;
      const answer = () => {
        if (misbehave && (b.failStatus || b.drop)) {
          const code = b.drop ? GrpcStatus.UNAVAILABLE : b.failStatus;
          cb({ code, details: b.failDetails ?? `simulated ${GrpcStatus[code] ?? code}`, metadata: new Metadata() }, null);
          return;
        }
        cb(null, fn(call.request));
      };
      if (misbehave && b.delayMs > 0) setTimeout(answer, b.delayMs);
      else answer();
    };
  }

  server.addService(
    service(opts.proto, opts.service).service,
    Object.fromEntries(Object.entries(opts.handlers).map(([name, fn]) => [name, guard(name, false, fn)])),
  );
  server.addService(service(HEALTH_PROTO, 'grpc.health.v1.Health').service, {
    Check: guard('Check', true, () => ({ status: 'SERVING' })),
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port ?? 0}`, opts.credentials ?? ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    address: `${host}:${bound}`,
    port: bound,
    recorder,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500).unref();
      }),
  };
}
