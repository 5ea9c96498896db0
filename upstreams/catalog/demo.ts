/**
 * The demo catalog upstream (gRPC), serving `catalog.v1.Catalog/GetProducts` from
 * upstreams/catalog/catalog.proto and the standard `grpc.health.v1.Health/Check`.
 * `behaviour.failStatus` is used as a gRPC status code here (14 = UNAVAILABLE, 13 = INTERNAL).
 */
import { defineDemo } from '../../src/domain.js';
import { Server, ServerCredentials, Metadata, loadPackageDefinition, status as GrpcStatus, type GrpcObject, type ServiceClientConstructor, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { sharedSeed, type DemoData, type DemoProduct } from '../shop-data.js';
import { Recorder } from '../../src/demo/recorder.js';

const CATALOG_PROTO = fileURLToPath(new URL('./catalog.proto', import.meta.url));
const HEALTH_PROTO = fileURLToPath(new URL('../../src/upstream/grpc/health.proto', import.meta.url));
const LOADER = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true } as const;

export interface DemoGrpcServer {
  address: string;
  port: number;
  recorder: Recorder;
  close(): Promise<void>;
}

function service(proto: string, path: string[]): ServiceClientConstructor {
  let obj: unknown = loadPackageDefinition(loadSync(proto, LOADER));
  for (const p of path) obj = (obj as GrpcObject)[p];
  return obj as ServiceClientConstructor;
}

export async function startCatalogServer(data: DemoData, port = 0, host = '127.0.0.1'): Promise<DemoGrpcServer> {
  const recorder = new Recorder();
  const server = new Server();

  function guard<Req, Res>(name: string, health: boolean, fn: (req: Req) => Res) {
    return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => {
      recorder.record({ method: 'POST', path: name, query: new URLSearchParams(), headers: call.metadata.getMap() as Record<string, string>, request: call.request });
      const b = recorder.behaviour;
      const misbehave = !health || b.failHealth;
      const answer = () => {
        if (misbehave && (b.failStatus || b.drop)) {
          const code = b.drop ? GrpcStatus.UNAVAILABLE : b.failStatus;
          cb({ code, details: `simulated ${GrpcStatus[code] ?? code}`, metadata: new Metadata() }, null);
          return;
        }
        cb(null, fn(call.request));
      };
      if (misbehave && b.delayMs > 0) setTimeout(answer, b.delayMs);
      else answer();
    };
  }

  server.addService(service(CATALOG_PROTO, ['catalog', 'v1', 'Catalog']).service, {
    GetProducts: guard<{ ids: string[] }, { products: DemoProduct[] }>('GetProducts', false, (req) => ({
      products: req.ids.map((id) => data.products.get(id)).filter((p): p is DemoProduct => p !== undefined),
    })),
  });
  server.addService(service(HEALTH_PROTO, ['grpc', 'health', 'v1', 'Health']).service, {
    Check: guard<{ service: string }, { status: string }>('Check', true, () => ({ status: 'SERVING' })),
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
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

/** `gateway start --demo` starts this server and points the catalog upstream at it. */
export default defineDemo({
  async start({ port, host, shared }) {
    const server = await startCatalogServer(sharedSeed(shared), port, host);
    return { target: server.address, close: () => server.close() };
  },
});
