/**
 * The demo upstreams for the benchmark, in a process of their own, on ephemeral ports.
 * Prints `{"msg":"demo upstreams listening",users,orders,catalog}`. Instead of recording every
 * call (which would grow without bound under load) each upstream only counts them; the parent
 * asks for the counts over IPC with `{ type: 'counts' }`.
 */
import { startDemoUpstreams, type RecordedCall } from '../upstreams/shop-demo.js';

const demo = await startDemoUpstreams({ users: 0, orders: 0, catalog: 0 });
const counts = { users: 0, orders: 0, catalog: 0 };
for (const name of ['users', 'orders', 'catalog'] as const) {
  // Health probes are not part of a request's cost.
  demo[name].recorder.record = (call: RecordedCall) => {
    if (!/health/i.test(call.path)) counts[name]++;
  };
}
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'counts') process.send?.({ type: 'counts', counts: { ...counts } });
});
console.log(JSON.stringify({ msg: 'demo upstreams listening', users: demo.users.url, orders: demo.orders.url, catalog: demo.catalog.address }));
const stop = () => void demo.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
