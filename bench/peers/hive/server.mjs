/**
 * Hive Gateway as a peer of the benchmark, in a process of its own:
 *
 *   PORT=0 USERS_URL=… ORDERS_URL=… CATALOG_ADDR=… node bench/peers/hive/server.mjs
 *
 * Composes the supergraph with GraphQL Mesh (compose.mjs) for the upstreams it is given, serves
 * it with @graphql-hive/gateway-runtime on POST /graphql, and prints one JSON line
 * `{"msg":"listening","port":N}` once it accepts connections. Installed apart from the project:
 * `npm --prefix bench/peers/hive ci` (see bench/README.md).
 */
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { composeSupergraph } from './compose.mjs';

const port = Number(process.env.PORT ?? 0);
const host = '127.0.0.1';
const urls = { users: process.env.USERS_URL, orders: process.env.ORDERS_URL, catalog: process.env.CATALOG_ADDR };
for (const [k, v] of Object.entries(urls)) {
  if (!v) {
    console.error(`hive peer: ${k} upstream address missing (USERS_URL, ORDERS_URL, CATALOG_ADDR)`);
    process.exit(2);
  }
}

const supergraph = await composeSupergraph(urls);

const cents = (v) => Number(v ?? 0); // int64 arrives as a string or a BigInt, depending on the loader

/**
 * The two fields that are arithmetic. Order.total needs the price of every item's product: it asks
 * the catalog source through Mesh's in-context SDK with the order's product ids as keys, so that
 * the keys of all orders of a request are batched into one GetProducts call. That call is not
 * shared with OrderItem.product's: batch-delegate keys its loaders by the calling field's
 * selection and return type, so S2 costs two GetProducts calls here (bench/README.md).
 */
const additionalResolvers = {
  Product: {
    price: { selectionSet: '{ priceCents }', resolve: (p) => cents(p.priceCents) / 100 },
  },
  Order: {
    total: {
      selectionSet: '{ items { productId quantity } }',
      async resolve(order, _args, context, info) {
        // One call of the SDK per order, its product ids as the keys (batch-delegate loads them
        // with loadMany); the loader batches the keys of all orders of the request.
        const products = await context.catalog.Query.catalog_v1_Catalog_GetProducts({
          root: order,
          context,
          info,
          key: order.items.map((item) => item.productId),
          argsFromKeys: (ids) => ({ input: { ids } }),
          selectionSet: '{ products { id priceCents } }',
          valuesFromResults: (res, ids) => {
            const byId = new Map((res?.products ?? []).map((p) => [p.id, p]));
            return ids.map((id) => byId.get(id) ?? null);
          },
        });
        let sum = 0;
        order.items.forEach((item, i) => {
          if (products[i]) sum += cents(products[i].priceCents) * item.quantity;
        });
        return sum / 100;
      },
    },
  },
};

const gateway = createGatewayRuntime({ supergraph, additionalResolvers, logging: false, graphqlEndpoint: '/graphql', landingPage: false });
const server = createServer(gateway);
server.listen(port, host, () => console.log(JSON.stringify({ msg: 'listening', peer: 'hive', port: server.address().port })));
const stop = () => server.close(() => void gateway.dispose().finally(() => process.exit(0)));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
