/**
 * Starts the three demo upstreams of the example domain (users and orders over HTTP, catalog
 * over gRPC) on ephemeral ports with freshly seeded data. `npm start` and the tests use this.
 */
import { seed, type DemoData } from './shop-data.js';
import { startUsersServer } from './users/demo.js';
import { startOrdersServer } from './orders/demo.js';
import { startCatalogServer, type DemoGrpcServer } from './catalog/demo.js';
import type { DemoHttpServer } from '../src/demo/http-server.js';
import type { DemoTargets } from '../src/demo/start-demos.js';

export type { DemoHttpServer } from '../src/demo/http-server.js';
export type { DemoGrpcServer } from './catalog/demo.js';
export { Recorder, type Behaviour, type RecordedCall } from '../src/demo/recorder.js';
export { startHttpUpstream, sendJson } from '../src/demo/http-server.js';

export interface DemoUpstreams {
  data: DemoData;
  users: DemoHttpServer;
  orders: DemoHttpServer;
  catalog: DemoGrpcServer;
  /** Where each answers, by upstream name (for `startGateway({ demoTargets })`). */
  targets: DemoTargets;
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
    targets: { users: users.url, orders: orders.url, catalog: catalog.address },
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
