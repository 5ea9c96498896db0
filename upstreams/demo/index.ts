/**
 * Starts the three demo upstreams of the example domain (users and orders over HTTP, catalog
 * over gRPC) on ephemeral ports with freshly seeded data. `npm start` and the tests use this.
 */
import { seed, type DemoData } from './data.js';
import { startUsersServer } from './users-server.js';
import { startOrdersServer } from './orders-server.js';
import { startCatalogServer, type DemoGrpcServer } from './catalog-server.js';
import type { DemoHttpServer } from './http-base.js';

export type { DemoHttpServer } from './http-base.js';
export type { DemoGrpcServer } from './catalog-server.js';
export { Recorder, type Behaviour, type RecordedCall } from './recorder.js';
export { startHttpUpstream, sendJson } from './http-base.js';

export interface DemoUpstreams {
  data: DemoData;
  users: DemoHttpServer;
  orders: DemoHttpServer;
  catalog: DemoGrpcServer;
  /** Forgets recorded calls and restores normal behaviour on all three. */
  reset(): void;
  close(): Promise<void>;
}

export interface DemoPorts { users?: number; orders?: number; catalog?: number; host?: string }

export async function startDemoUpstreams(ports: DemoPorts = {}): Promise<DemoUpstreams> {
  const data = seed();
  const [users, orders, catalog] = await Promise.all([
    startUsersServer(data, ports.users ?? 0, ports.host),
    startOrdersServer(data, ports.orders ?? 0, ports.host),
    startCatalogServer(data, ports.catalog ?? 0, ports.host),
  ]);
  return {
    data,
    users,
    orders,
    catalog,
    reset() {
      users.recorder.reset();
      orders.recorder.reset();
      catalog.recorder.reset();
    },
    async close() {
      await Promise.all([users.close(), orders.close(), catalog.close()]);
    },
  };
}
