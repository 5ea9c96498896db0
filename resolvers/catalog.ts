import { defineResolvers } from '../src/graphql/define-resolvers.js';
import type { OrderItem, Product } from '../upstreams/loaders.js';

export default defineResolvers({
  upstreams: ['catalog'],
  resolvers: {
    Query: {
      product: (_p, { id }: { id: string }, { loaders }) => loaders.productById.load(id),
    },
    OrderItem: {
      product: (item: OrderItem, _a, { loaders }) => loaders.productById.load(String(item.productId)),
    },
    Product: {
      price: (p: Product) => p.priceCents / 100,
    },
  },
});
