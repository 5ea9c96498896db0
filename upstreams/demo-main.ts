/**
 * Runs the demo upstreams standalone on their well-known ports (7001 users, 7002 orders,
 * 7003 catalog), for running the gateway without --demo or for benchmarks:
 *   node bin/tsx.js upstreams/demo-main.ts
 */
import { startDemoUpstreams } from './shop-demo.js';

const demo = await startDemoUpstreams({
  users: Number(process.env.USERS_PORT ?? 7001),
  orders: Number(process.env.ORDERS_PORT ?? 7002),
  catalog: Number(process.env.CATALOG_PORT ?? 7003),
});
console.log(JSON.stringify({ msg: 'demo upstreams listening', users: demo.users.url, orders: demo.orders.url, catalog: demo.catalog.address }));
const stop = () => void demo.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
