import { defineResolvers } from '../src/graphql/define-resolvers.js';
import { Unauthenticated } from '../src/errors.js';
import type { Order, OrderItem } from '../upstreams/loaders.js';
import { upstreamPath } from '../upstreams/http/path-template.js';

export default defineResolvers({
  upstreams: ['orders'],
  resolvers: {
    Query: {
      order: (_p, { id }: { id: string }, { gw, upstreams }) =>
        upstreams.http('orders').json<Order>(gw, 'GET', upstreamPath`/orders/${id}`),
    },
    Mutation: {
      createOrder: (_p, { input }: { input: { items: OrderItem[] } }, { gw, upstreams }) => {
        const userId = gw.identity?.subject;
        if (!userId) throw Unauthenticated('this field needs a verified identity');
        return upstreams.http('orders').json<Order>(gw, 'POST', '/orders', { userId, items: input.items });
      },
    },
    User: {
      orders: (user: { id: string }, _a, { loaders }) => loaders.ordersByUserId.load(String(user.id)),
    },
    Order: {
      user: (order: Order, _a, { loaders }) => loaders.userById.load(String(order.userId)),
      total: async (order: Order, _a, { loaders }) => {
        const products = await loaders.productById.loadMany(order.items.map((i) => i.productId));
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
