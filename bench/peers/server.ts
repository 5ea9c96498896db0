/**
 * One peer of the benchmark, in a process of its own:
 *
 *   PEER=mercurius|apollo|yoga|fastify-proxy PORT=0 USERS_URL=… ORDERS_URL=… CATALOG_ADDR=… \
 *     node bin/tsx.js bench/peers/server.ts
 *
 * Prints one JSON line `{"msg":"listening","port":N}` once it accepts connections.
 * GraphQL peers serve POST /graphql; the proxy peer serves /api/users/* → /users/*.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDomain } from './domain.js';

const peer = process.env.PEER;
const port = Number(process.env.PORT ?? 0);
const host = '127.0.0.1';
const urls = { users: process.env.USERS_URL!, orders: process.env.ORDERS_URL!, catalog: process.env.CATALOG_ADDR! };

function ready(p: number): void {
  console.log(JSON.stringify({ msg: 'listening', peer, port: p }));
}

async function mercurius(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const { default: mercuriusPlugin } = await import('mercurius');
  const { typeDefs } = await import('./domain.js');
  const domain = createDomain(urls);
  const app = Fastify({ logger: false });
  // jit: 1 compiles every operation with graphql-jit from its first execution on.
  await app.register(mercuriusPlugin, {
    schema: typeDefs(),
    resolvers: domain.resolvers as never,
    jit: 1,
    context: () => ({ loaders: domain.loaders() }),
  });
  await app.listen({ port, host });
  ready((app.server.address() as AddressInfo).port);
}

async function apollo(): Promise<void> {
  const { ApolloServer } = await import('@apollo/server');
  const { startStandaloneServer } = await import('@apollo/server/standalone');
  const { typeDefs } = await import('./domain.js');
  const domain = createDomain(urls);
  const server = new ApolloServer({ typeDefs: typeDefs(), resolvers: domain.resolvers as never });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host },
    context: async () => ({ loaders: domain.loaders() }),
  });
  ready(Number(new URL(url).port));
}

async function yoga(): Promise<void> {
  const { createYoga } = await import('graphql-yoga');
  const { makeExecutableSchema } = await import('@graphql-tools/schema');
  const { typeDefs } = await import('./domain.js');
  const domain = createDomain(urls);
  const schema = makeExecutableSchema({ typeDefs: typeDefs(), resolvers: domain.resolvers as never });
  const y = createYoga({ schema, graphiql: false, logging: false, context: () => ({ loaders: domain.loaders() }) });
  const server = createServer(y);
  await new Promise<void>((r) => server.listen(port, host, r));
  ready((server.address() as AddressInfo).port);
}

async function fastifyProxy(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const { default: proxy } = await import('@fastify/http-proxy');
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: urls.users, prefix: '/api/users', rewritePrefix: '/users' });
  await app.listen({ port, host });
  ready((app.server.address() as AddressInfo).port);
}

const peers: Record<string, () => Promise<void>> = { mercurius, apollo, yoga, 'fastify-proxy': fastifyProxy };
const start = peer ? peers[peer] : undefined;
if (!start) {
  console.error(`PEER must be one of ${Object.keys(peers).join(', ')} (got ${peer ?? 'nothing'})`);
  process.exit(2);
}
await start();
process.once('SIGTERM', () => process.exit(0));
