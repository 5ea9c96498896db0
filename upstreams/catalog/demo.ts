/**
 * The demo catalog upstream (gRPC), serving `catalog.v1.Catalog/GetProducts` from
 * upstreams/catalog/catalog.proto (and the standard health check) with the shop's seeded products.
 */
import { fileURLToPath } from 'node:url';
import { defineDemo } from '../../src/domain.js';
import { startGrpcUpstream, type DemoGrpcServer } from '../../src/demo/grpc-server.js';
import { sharedSeed, type DemoData, type DemoProduct } from '../shop-data.js';

export type { DemoGrpcServer } from '../../src/demo/grpc-server.js';

const CATALOG_PROTO = fileURLToPath(new URL('./catalog.proto', import.meta.url));

export function startCatalogServer(data: DemoData, port = 0, host = '127.0.0.1'): Promise<DemoGrpcServer> {
  return startGrpcUpstream({
    proto: CATALOG_PROTO,
    service: 'catalog.v1.Catalog',
    handlers: {
      GetProducts: (req: { ids: string[] }) => ({
        products: req.ids.map((id) => data.products.get(id)).filter((p): p is DemoProduct => p !== undefined),
      }),
    },
    port,
    host,
  });
}

/** `gateway start --demo` starts this server and points the catalog upstream at it. */
export default defineDemo({
  async start({ port, host, shared }) {
    const server = await startCatalogServer(sharedSeed(shared), port, host);
    return { target: server.address, close: () => server.close() };
  },
});
