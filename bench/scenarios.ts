/**
 * What the benchmark sends. The GraphQL scenarios are answered by the gateway and by every
 * GraphQL peer; the passthrough ones by the gateway, the proxies and the upstream itself.
 */
export const USER_IDS = Array.from({ length: 20 }, (_, i) => String(i + 1));

/** S1: one user, one upstream call. */
export const S1_QUERY = '{ user(id: "7") { id name } }';

/** S2: 20 users with their orders, totals and products: users, orders and catalog, one call each. */
export const S2_QUERY = `{ users(ids: ${JSON.stringify(USER_IDS)}) { name orders { status total items { quantity product { name price } } } } }`;

/** S3: the users REST API through a prefix route (`/api/users/7` → `/users/7`). */
export const S3_PATH = '/api/users/7';
export const S3_UPSTREAM_PATH = '/users/7';

export const gqlBody = (query: string) => JSON.stringify({ query });

/** Upstream calls one request of each GraphQL scenario makes when batching works. */
export const EXPECTED_CALLS = { S1: 1, S2: 3, S3: 1 } as const;
