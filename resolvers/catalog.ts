import { defineResolvers } from '../src/domain.js';

/** A product as the catalog's GetProducts answers it (grpc-js gives camelCase names). */
export interface Product { id: string; name: string; priceCents: number; inStock: boolean }

// Query.product and OrderItem.product are bindings (schema/catalog.graphql, schema/orders.graphql);
// only the price needs code.
export default defineResolvers({
  resolvers: {
    Product: {
      price: (p: Product) => p.priceCents / 100,
    },
  },
});
