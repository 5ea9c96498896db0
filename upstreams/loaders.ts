/**
 * Per-request DataLoaders, one per batch endpoint of the example domain. They are created for
 * one request and die with it, so nothing one caller loaded is ever served to another.
 * Every key is loaded at most once per request; each tick's keys go out as one upstream call.
 */
import DataLoader from 'dataloader';
import type { RequestContext } from '../src/context.js';
import type { Upstreams } from './create-upstreams.js';
import { upstreamPath } from './http/path-template.js';

export interface User { id: string; name: string; email: string | null; role: string }
export interface OrderItem { productId: string; quantity: number }
export interface Order { id: string; userId: string; items: OrderItem[]; status: string; createdAt: string }
export interface Product { id: string; name: string; priceCents: number; inStock: boolean }

export interface Loaders {
  /** `GET /users?ids=…` on the users upstream. */
  userById: DataLoader<string, User | null>;
  /** `GET /orders?userIds=…` on the orders upstream. */
  ordersByUserId: DataLoader<string, Order[]>;
  /** `catalog.v1.Catalog/GetProducts` on the catalog upstream. */
  productById: DataLoader<string, Product | null>;
}

/** One batch call per tick per endpoint; each loader is created on first use (S1 needs one of three). */
class RequestLoaders implements Loaders {
  readonly #upstreams: Upstreams;
  readonly #ctx: RequestContext;
  #userById: Loaders['userById'] | undefined;
  #ordersByUserId: Loaders['ordersByUserId'] | undefined;
  #productById: Loaders['productById'] | undefined;

  constructor(upstreams: Upstreams, ctx: RequestContext) {
    this.#upstreams = upstreams;
    this.#ctx = ctx;
  }

  get userById(): Loaders['userById'] {
    return (this.#userById ??= new DataLoader(async (keys) => {
      const found = (await this.#upstreams.http('users').json<User[]>(this.#ctx, 'GET', upstreamPath`/users?ids=${keys}`)) ?? [];
      const byId = new Map(found.map((u) => [String(u.id), u]));
      return keys.map((k) => byId.get(k) ?? null);
    }));
  }

  get ordersByUserId(): Loaders['ordersByUserId'] {
    return (this.#ordersByUserId ??= new DataLoader(async (keys) => {
      const found = (await this.#upstreams.http('orders').json<Order[]>(this.#ctx, 'GET', upstreamPath`/orders?userIds=${keys}`)) ?? [];
      const byUser = new Map<string, Order[]>(keys.map((k) => [k, []]));
      for (const o of found) byUser.get(String(o.userId))?.push(o);
      return keys.map((k) => byUser.get(k)!);
    }));
  }

  get productById(): Loaders['productById'] {
    return (this.#productById ??= new DataLoader(async (keys) => {
      const res = await this.#upstreams.grpc('catalog').unary<{ products: Product[] }>(this.#ctx, 'GetProducts', { ids: keys }, { idempotent: true });
      const byId = new Map(res.products.map((p) => [p.id, p]));
      return keys.map((k) => byId.get(k) ?? null);
    }));
  }
}

export function createLoaders(upstreams: Upstreams, ctx: RequestContext): Loaders {
  return new RequestLoaders(upstreams, ctx);
}
