/**
 * The example domain as the peers serve it: the gateway's own SDL files, and resolvers with the
 * same semantics as resolvers/*.ts (per-request DataLoaders: one `GET /users?ids=`, one
 * `GET /orders?userIds=`, one `GetProducts` per tick), written against undici and grpc-js
 * directly, so that only the server around them differs from the gateway.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { parse, print } from 'graphql';
import { withoutBindings } from '../../src/graphql/bindings/declarations.js';
import { ENGINE_DIRECTIVES_SDL } from '../../src/graphql/engine-directives.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import DataLoader from 'dataloader';
import { Pool } from 'undici';
import { credentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadService } from '../../src/upstream/grpc/grpc-upstream.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface User { id: string; name: string; email: string | null; role: string }
interface OrderItem { productId: string; quantity: number }
interface Order { id: string; userId: string; items: OrderItem[]; status: string; createdAt: string }
interface Product { id: string; name: string; priceCents: number; inStock: boolean }

export interface PeerLoaders {
  userById: DataLoader<string, User | null>;
  ordersByUserId: DataLoader<string, Order[]>;
  productById: DataLoader<string, Product | null>;
}

/**
 * All of schema/*.graphql in one document (the `me`/mutations stay declared, unused here), as
 * clients see it: without the gateway's binding directives, which the peers do not know (their
 * resolvers below do by hand what the bindings declare), with the engine's directive declarations.
 */
export function typeDefs(): string {
  const dir = join(ROOT, 'schema');
  const files = readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort();
  // users.graphql declares `type Query`; the others extend it, so it goes first.
  files.sort((a, b) => (a === 'users.graphql' ? -1 : b === 'users.graphql' ? 1 : 0));
  return [ENGINE_DIRECTIVES_SDL, ...files.map((f) => print(withoutBindings(parse(readFileSync(join(dir, f), 'utf8')))))].join('\n');
}

export interface UpstreamUrls { users: string; orders: string; catalog: string }

/** Long-lived clients (one per process), and a factory of per-request loaders over them. */
export function createDomain(urls: UpstreamUrls) {
  const users = new Pool(urls.users, { connections: 16 });
  const orders = new Pool(urls.orders, { connections: 16 });
  const { ctor } = loadService(join(ROOT, 'upstreams/catalog/catalog.proto'), 'catalog.v1.Catalog');
  const catalog = new ctor(urls.catalog, credentials.createInsecure()) as unknown as Client & {
    GetProducts(req: { ids: readonly string[] }, cb: (err: ServiceError | null, res: { products: Product[] }) => void): void;
  };

  async function getJson<T>(pool: Pool, path: string): Promise<T> {
    const res = await pool.request({ method: 'GET', path });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`upstream answered ${res.statusCode} to ${path}`);
    }
    return (await res.body.json()) as T;
  }
  const ids = (keys: readonly string[]) => keys.map(encodeURIComponent).join(',');

  function loaders(): PeerLoaders {
    return {
      userById: new DataLoader(async (keys) => {
        const found = await getJson<User[]>(users, `/users?ids=${ids(keys)}`);
        const byId = new Map(found.map((u) => [String(u.id), u]));
        return keys.map((k) => byId.get(k) ?? null);
      }),
      ordersByUserId: new DataLoader(async (keys) => {
        const found = await getJson<Order[]>(orders, `/orders?userIds=${ids(keys)}`);
        const byUser = new Map<string, Order[]>(keys.map((k) => [k, []]));
        for (const o of found) byUser.get(String(o.userId))?.push(o);
        return keys.map((k) => byUser.get(k)!);
      }),
      productById: new DataLoader(
        (keys) =>
          new Promise((resolve, reject) =>
            catalog.GetProducts({ ids: keys }, (err, res) => {
              if (err) return reject(err);
              const byId = new Map(res.products.map((p) => [p.id, p]));
              resolve(keys.map((k) => byId.get(k) ?? null));
            }),
          ),
      ),
    };
  }

  type Ctx = { loaders: PeerLoaders };
  const resolvers = {
    Query: {
      user: (_p: unknown, { id }: { id: string }, { loaders: l }: Ctx) => l.userById.load(id),
      users: (_p: unknown, { ids: list }: { ids: string[] }, { loaders: l }: Ctx) => l.userById.loadMany(list),
      product: (_p: unknown, { id }: { id: string }, { loaders: l }: Ctx) => l.productById.load(id),
    },
    User: {
      orders: (user: { id: string }, _a: unknown, { loaders: l }: Ctx) => l.ordersByUserId.load(String(user.id)),
    },
    Order: {
      user: (order: Order, _a: unknown, { loaders: l }: Ctx) => l.userById.load(String(order.userId)),
      total: async (order: Order, _a: unknown, { loaders: l }: Ctx) => {
        const products = await l.productById.loadMany(order.items.map((i) => i.productId));
        let cents = 0;
        order.items.forEach((item, i) => {
          const p = products[i];
          if (p instanceof Error) throw p;
          if (p) cents += p.priceCents * item.quantity;
        });
        return cents / 100;
      },
    },
    OrderItem: {
      product: (item: OrderItem, _a: unknown, { loaders: l }: Ctx) => l.productById.load(String(item.productId)),
    },
    Product: {
      price: (p: Product) => p.priceCents / 100,
    },
  };

  return {
    loaders,
    resolvers,
    async close() {
      catalog.close();
      await Promise.all([users.close(), orders.close()]);
    },
  };
}
