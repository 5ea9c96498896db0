import { defineResolvers } from '../src/domain.js';
import type { Product } from './catalog.js';

interface OrderItem { productId: string; quantity: number }
interface Order { id: string; userId: string; items: OrderItem[] }

// Every other field of the orders domain is a binding (schema/orders.graphql); the total is
// arithmetic over the order's products, loaded through OrderItem.product's own binding, so the
// products the query selects below come from the same one GetProducts call.
export default defineResolvers({
  resolvers: {
    Order: {
      total: async (order: Order, _a, ctx) => {
        const products = await Promise.allSettled(order.items.map((item) => ctx.bindings.load(ctx, 'OrderItem.product', { parent: item })));
        let cents = 0;
        order.items.forEach((item, i) => {
          const p = products[i]!;
          if (p.status === 'rejected') throw p.reason;
          const product = p.value as Product | null;
          if (product) cents += product.priceCents * item.quantity;
        });
        return cents / 100;
      },
    },
  },
});
