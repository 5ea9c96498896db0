import { defineResolvers } from '../src/domain.js';
import type { OrderItem } from '../upstreams/orders/loaders.js';
import { productById, type Product } from '../upstreams/catalog/loaders.js';

export default defineResolvers({
  loaders: [productById],
  resolvers: {
    Query: {
      product: (_p, { id }: { id: string }, ctx) => productById.of(ctx).load(id),
    },
    OrderItem: {
      product: (item: OrderItem, _a, ctx) => productById.of(ctx).load(String(item.productId)),
    },
    Product: {
      price: (p: Product) => p.priceCents / 100,
    },
  },
});
