/**
 * Composes the Hive Gateway peer's supergraph with GraphQL Mesh (compose-cli as a library): the
 * users and orders REST APIs from their OpenAPI documents (this folder), the catalog from
 * upstreams/catalog/catalog.proto, linked with @resolveTo in additionalTypeDefs.
 *
 *   USERS_URL=… ORDERS_URL=… CATALOG_ADDR=… node bench/peers/hive/compose.mjs > supergraph.graphql
 *
 * The upstream addresses are part of the supergraph, so the bench composes at the peer's start.
 */
import { fileURLToPath } from 'node:url';
import { getComposedSchemaFromConfig, createRenameTransform } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';
import { loadGrpcSubgraph } from '@omnigraph/grpc';
import { DefaultLogger } from '@graphql-mesh/utils';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PROTO = fileURLToPath(new URL('../../../upstreams/catalog/catalog.proto', import.meta.url));

/**
 * The links between the sources, in Mesh's own terms: each @resolveTo batches its keys into one
 * call of the source field (keysArg). Orders are matched back to their users by userId
 * (valueKeyField). Products are matched by position (GetProducts answers in the order of `ids`):
 * their selection is fixed (sourceSelectionSet) because Product.price needs priceCents, and Mesh
 * does not add a resolver's selectionSet to the selection @resolveTo wraps under `products`;
 * valueKeyField would add `id` at the response's root, beside `products`, where there is none.
 * Order.total and Product.price are arithmetic, which SDL cannot express: server.mjs resolves them.
 */
export const ADDITIONAL_TYPE_DEFS = /* GraphQL */ `
  extend type User {
    orders: [Order!]!
      @resolveTo(sourceName: "orders", sourceTypeName: "Query", sourceFieldName: "ordersByUserIds",
                 keyField: "id", keysArg: "userIds", valueKeyField: "userId")
  }
  extend type OrderItem {
    product: Product
      @resolveTo(sourceName: "catalog", sourceTypeName: "Query", sourceFieldName: "catalog_v1_Catalog_GetProducts",
                 keyField: "productId", keysArg: "input.ids", result: "products",
                 sourceSelectionSet: "{ products { id name priceCents inStock } }")
  }
  extend type Order {
    "Sum of item prices times quantities, in currency units (resolved in server.mjs)."
    total: Float!
  }
  extend type Product {
    "price_cents / 100 (resolved in server.mjs)."
    price: Float!
  }
`;

/** Root fields and gRPC names as the other peers' schema spells them (schema/*.graphql). */
const renames = {
  users: [{ from: { type: 'Query', field: 'usersByIds' }, to: { type: 'Query', field: 'users' } }],
  catalog: [{ from: { type: 'catalog__v1__Product' }, to: { type: 'Product' } }],
};
/** proto field names (price_cents) in the camelCase the REST sources and the other peers use. */
const camelCaseFields = ({ typeName, fieldName }) =>
  typeName === 'Product' ? fieldName.replace(/_([a-z])/g, (_m, c) => c.toUpperCase()) : fieldName;

export async function composeSupergraph(urls) {
  return getComposedSchemaFromConfig({
    cwd: HERE,
    subgraphs: [
      {
        sourceHandler: loadOpenAPISubgraph('users', { source: './users.openapi.yaml', endpoint: urls.users }),
        transforms: [createRenameTransform({ renames: renames.users })],
      },
      { sourceHandler: loadOpenAPISubgraph('orders', { source: './orders.openapi.yaml', endpoint: urls.orders }) },
      {
        sourceHandler: loadGrpcSubgraph('catalog', { source: PROTO, endpoint: urls.catalog }),
        transforms: [createRenameTransform({ renames: renames.catalog }), createRenameTransform({ fieldRenamer: camelCaseFields })],
      },
    ],
    additionalTypeDefs: ADDITIONAL_TYPE_DEFS,
  }, new DefaultLogger('compose'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sdl = await composeSupergraph({ users: process.env.USERS_URL, orders: process.env.ORDERS_URL, catalog: process.env.CATALOG_ADDR });
  process.stdout.write(sdl);
}
