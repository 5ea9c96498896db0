/** Batch loaders of the catalog upstream (gRPC `catalog.v1.Catalog/GetProducts`). */
import { defineLoader } from '../../src/domain.js';

export interface Product { id: string; name: string; priceCents: number; inStock: boolean }

/** One `GetProducts` call per tick; unknown ids come back as null. */
export const productById = defineLoader<string, Product | null>({
  upstream: 'catalog',
  async batch(keys, { gw, upstreams }) {
    const res = await upstreams.grpc('catalog').unary<{ products: Product[] }>(gw, 'GetProducts', { ids: keys }, { idempotent: true });
    const byId = new Map(res.products.map((p) => [p.id, p]));
    return keys.map((k) => byId.get(k) ?? null);
  },
});
