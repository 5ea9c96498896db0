/** The demo orders upstream (HTTP), implementing CONTRACT section 3 exactly. */
import { defineDemo } from '../../src/domain.js';
import { sharedSeed, type DemoData, type DemoOrder } from '../shop-data.js';
import { INVALID_JSON, sendJson, startHttpUpstream, type DemoHttpServer } from '../../src/demo/http-server.js';

function validItems(items: unknown): items is DemoOrder['items'] {
  return (
    Array.isArray(items) &&
    items.length > 0 &&
    items.every((i) => typeof i === 'object' && i !== null && typeof i.productId === 'string' && Number.isInteger(i.quantity) && i.quantity > 0)
  );
}

export function startOrdersServer(data: DemoData, port = 0, host?: string): Promise<DemoHttpServer> {
  return startHttpUpstream(async (req, res, url, body) => {
    const path = url.pathname;
    if (path === '/orders' && req.method === 'GET') {
      const userIds = new Set((url.searchParams.get('userIds') ?? '').split(',').filter(Boolean));
      const found = [...data.orders.values()].filter((o) => userIds.has(o.userId));
      return sendJson(res, 200, found);
    }
    if (path === '/orders' && req.method === 'POST') {
      const input = (await body()) as { userId?: unknown; items?: unknown } | undefined;
      if ((input as unknown) === INVALID_JSON || typeof input !== 'object' || input === null || typeof input.userId !== 'string' || !validItems(input.items)) {
        return sendJson(res, 400, { error: 'userId (string) and items [{productId, quantity > 0}] are required' });
      }
      const order: DemoOrder = {
        id: `o${data.nextOrderId++}`,
        userId: input.userId,
        items: input.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
        status: 'PENDING',
        createdAt: new Date().toISOString(),
      };
      data.orders.set(order.id, order);
      return sendJson(res, 201, order);
    }
    const one = /^\/orders\/([^/]+)$/.exec(path);
    if (one && req.method === 'GET') {
      const o = data.orders.get(decodeURIComponent(one[1]!));
      return o ? sendJson(res, 200, o) : sendJson(res, 404, { error: 'order not found' });
    }
    sendJson(res, 404, { error: 'not found' });
  }, port, host);
}

/** `gateway start --demo` starts this server and points the orders upstream at it. */
export default defineDemo({
  async start({ port, host, shared }) {
    const server = await startOrdersServer(sharedSeed(shared), port, host);
    return { target: server.url, close: () => server.close() };
  },
});
