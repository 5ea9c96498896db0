/**
 * Seeded data of the example shop: deterministic, so tests can name ids and expect values.
 * Users 1..100, two orders each (orders o1..o200), products p1..p20.
 */
export interface DemoUser { id: string; name: string; email: string; role: string }
export interface DemoOrder {
  id: string;
  userId: string;
  items: { productId: string; quantity: number }[];
  status: string;
  createdAt: string;
}
export interface DemoProduct { id: string; name: string; priceCents: number; inStock: boolean }

const FIRST = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger', 'Radia'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'Dijkstra', 'Perlman'];
const GOODS = ['Keyboard', 'Mouse', 'Monitor', 'Cable', 'Desk', 'Chair', 'Lamp', 'Headset', 'Webcam', 'Dock'];

export interface DemoData {
  users: Map<string, DemoUser>;
  orders: Map<string, DemoOrder>;
  products: Map<string, DemoProduct>;
  nextUserId: number;
  nextOrderId: number;
}

/** The run's shared seed: the demo servers of one `--demo` run read and change the same data. */
export function sharedSeed(shared: Map<string, unknown>): DemoData {
  let data = shared.get('shop') as DemoData | undefined;
  if (!data) {
    data = seed();
    shared.set('shop', data);
  }
  return data;
}

export function seed(): DemoData {
  const users = new Map<string, DemoUser>();
  const orders = new Map<string, DemoOrder>();
  const products = new Map<string, DemoProduct>();
  for (let i = 1; i <= 20; i++) {
    const id = `p${i}`;
    products.set(id, {
      id,
      name: `${GOODS[(i - 1) % GOODS.length]} ${Math.ceil(i / GOODS.length)}`,
      priceCents: 499 + i * 250,
      inStock: i % 7 !== 0,
    });
  }
  let orderNo = 1;
  for (let i = 1; i <= 100; i++) {
    const id = String(i);
    const first = FIRST[(i - 1) % FIRST.length]!;
    const last = LAST[Math.floor((i - 1) / FIRST.length) % LAST.length]!;
    users.set(id, {
      id,
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}${i}@example.com`,
      role: i === 1 ? 'admin' : 'customer',
    });
    for (let k = 0; k < 2; k++) {
      const oid = `o${orderNo++}`;
      orders.set(oid, {
        id: oid,
        userId: id,
        items: [
          { productId: `p${((i + k) % 20) + 1}`, quantity: 1 + k },
          { productId: `p${((i * 3 + k) % 20) + 1}`, quantity: 2 },
        ],
        status: k === 0 ? 'DELIVERED' : 'PENDING',
        createdAt: new Date(Date.UTC(2026, 0, 1 + (i % 28), 12, k * 15)).toISOString(),
      });
    }
  }
  return { users, orders, products, nextUserId: 101, nextOrderId: orderNo };
}
