/** Batch loaders of the orders upstream (CONTRACT §3: `GET /orders?userIds=1,2`). */
import { defineLoader, upstreamPath } from '../../src/domain.js';

export interface OrderItem { productId: string; quantity: number }
export interface Order { id: string; userId: string; items: OrderItem[]; status: string; createdAt: string }

/** `GET /orders?userIds=…`: every user's orders, an empty list for a user without any. */
export const ordersByUserId = defineLoader<string, Order[]>({
  upstream: 'orders',
  async batch(keys, { gw, upstreams }) {
    const found = (await upstreams.http('orders').json<Order[]>(gw, 'GET', upstreamPath`/orders?userIds=${keys}`)) ?? [];
    const byUser = new Map<string, Order[]>(keys.map((k) => [k, []]));
    for (const o of found) byUser.get(String(o.userId))?.push(o);
    return keys.map((k) => byUser.get(k)!);
  },
});
