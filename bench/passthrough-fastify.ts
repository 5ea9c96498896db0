/**
 * The @fastify/http-proxy contender for bench/passthrough.ts: one prefix, the same rewrite
 * (`/api/users/*` → `/users/*`), listening on PORT, proxying to UPSTREAM.
 */
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const app = Fastify({ logger: false });
await app.register(proxy, { upstream: process.env.UPSTREAM!, prefix: '/api/users', rewritePrefix: '/users' });
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
console.log(JSON.stringify({ msg: 'listening' }));
