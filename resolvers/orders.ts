import { defineResolvers, Unauthenticated, upstreamPath } from '../src/domain.js';
import { ordersByUserId, type Order, type OrderItem } from '../upstreams/orders/loaders.js';
import { userById } from '../upstreams/users/loaders.js';
import { productById } from '../upstreams/catalog/loaders.js';

export default defineResolvers({
  upstreams: ['orders'],
  loaders: [ordersByUserId, userById, productById],
  resolvers: {
    Query: {
      order: (_p, { id }: { id: string }, { gw, upstreams }) =>
        upstreams.http('orders').json<Order>(gw, 'GET', upstreamPath`/orders/${id}`),
    },
    Mutation: {
      createOrder: (_p, { input }: { input: { items: OrderItem[] } }, { gw, upstreams }) => {
        const userId = gw.identity?.subject;
        // @authenticated refused anonymous callers already; a verified token may still lack a subject.
        if (!userId) throw Unauthenticated('Mutation.createOrder needs a caller id: the verified token has no sub claim');
        return upstreams.http('orders').json<Order>(gw, 'POST', '/orders', { userId, items: input.items });
      },
    },
    User: {
      orders: (user: { id: string }, _a, ctx) => ordersByUserId.of(ctx).load(String(user.id)),
    },
    Order: {
      user: (order: Order, _a, ctx) => userById.of(ctx).load(String(order.userId)),
      total: async (order: Order, _a, ctx) => {
        const products = await productById.of(ctx).loadMany(order.items.map((i) => i.productId));
        let cents = 0;
        order.items.forEach((item, i) => {
          const p = products[i];
          if (p && !(p instanceof Error)) cents += p.priceCents * item.quantity;
          else if (p instanceof Error) throw p;
        });
        return cents / 100;
      },
    },
  },
});
