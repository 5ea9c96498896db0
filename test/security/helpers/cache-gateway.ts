/**
 * For the response-cache tests: an origin that answers per caller and lets each request shape
 * its own caching headers, and a gateway (own fixture schema, no example domain) in front of it.
 *
 * Origin query parameters: `cc` → Cache-Control, `vary` → Vary, `setcookie=1` → Set-Cookie,
 * `age` → Age, `expires` → Expires, `pragma` → Pragma, `size` → body padded to that many bytes,
 * `chunked=1` → no Content-Length, `gzip=1` → gzip-encoded body (no Vary), `slowMs` → answer after that long.
 * Request bodies are counted in the echo (`bodyBytes`).
 * The body echoes what the origin received: caller identity, host and steering headers.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../../../src/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { configFrom } from '../../helpers/gateway.js';

export const JWT_SECRET = 'cache-test-secret-0123456789abcdef0123456789';
export const API_KEY = 'cache-test-partner-key';

const FIXTURE = fileURLToPath(new URL('../fixtures/cache/', import.meta.url));

/** Client headers the origin echoes back, so a test can see what a poisoned request changed. */
const ECHOED = [
  'x-user-id', 'x-user-roles', 'x-client-id', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-original-url',
  'x-rewrite-url', 'x-http-method-override', 'x-forwarded-prefix', 'x-host', 'accept-language', 'cookie', 'x-api-key', 'x-auth-token',
];

export interface Origin {
  url: string;
  /** Calls per path (without query). */
  calls: Map<string, number>;
  callsTo(path: string): number;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<Origin> {
  const calls = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    const n = (calls.get(url.pathname) ?? 0) + 1;
    calls.set(url.pathname, n);
    const q = url.searchParams;
    const echo: Record<string, unknown> = { path: url.pathname, n, bodyBytes: Number(req.headers['content-length'] ?? 0) };
    for (const h of ECHOED) echo[h] = req.headers[h] ?? null;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [param, header] of [['cc', 'cache-control'], ['vary', 'vary'], ['age', 'age'], ['expires', 'expires'], ['pragma', 'pragma']] as const) {
      const v = q.get(param);
      if (v !== null) headers[header] = v;
    }
    if (q.get('setcookie') === '1') headers['set-cookie'] = `sid=${n}; Path=/; HttpOnly`;
    let body = JSON.stringify(echo);
    const size = Number(q.get('size') ?? 0);
    if (size > body.length) body = JSON.stringify({ ...echo, pad: 'x'.repeat(size - body.length - 10) });
    const answer = () => {
      if (q.get('gzip') === '1') {
        const zipped = gzipSync(body);
        res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': String(zipped.length) });
        res.end(zipped);
      } else if (q.get('chunked') === '1') {
        res.writeHead(200, headers);
        for (let i = 0; i < body.length; i += 4096) res.write(body.slice(i, i + 4096));
        res.end();
      } else {
        res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      }
    };
    const slow = Number(q.get('slowMs') ?? 0);
    if (slow > 0) setTimeout(answer, slow);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    callsTo: (path) => calls.get(path) ?? 0,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

export interface CacheGatewayOptions {
  /** Top-level `cache` section. */
  cache?: Record<string, unknown>;
  redis?: { url: string; keyPrefix: string };
}

/**
 * Routes: `/open` (auth none), `/mine` (auth jwt) and `/either` (auth any), each `cache: { ttlSec: 30 }`,
 * all to the origin with their prefix stripped.
 */
export async function startCacheGateway(origin: Origin, opts: CacheGatewayOptions = {}): Promise<RunningGateway> {
  const route = (name: string, auth: string) => ({
    name, match: { pathPrefix: `/${name}` }, upstream: 'origin', rewrite: { stripPrefix: `/${name}` }, auth, cache: { ttlSec: 30 },
  });
  const config = configFrom({
    // drainGraceMs 0: close() does not wait a grace period for the test's idle keep-alive sockets.
    server: { port: 0, host: '127.0.0.1', drainMs: 500, drainGraceMs: 0, compression: false },
    logging: { level: 'silent', accessLog: false },
    auth: {
      jwt: { algorithms: ['HS256'], secret: JWT_SECRET },
      apiKeys: { header: 'X-API-Key', keys: [{ key: API_KEY, owner: 'partner-a', roles: ['partner'] }] },
    },
    upstreams: { origin: { protocol: 'http', targets: [{ url: origin.url }], timeoutMs: 3000 } },
    routes: [route('open', 'none'), route('mine', 'jwt'), route('either', 'any')],
    ...(opts.cache ? { cache: opts.cache } : {}),
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  return startGateway({
    config,
    port: 0,
    host: '127.0.0.1',
    schemaDir: `${FIXTURE}schema`,
    resolversDir: `${FIXTURE}resolvers`,
    logger: createLogger({ level: 'silent' }),
  });
}

export function token(sub: string, roles: string[] = []): Promise<string> {
  return new SignJWT({ sub, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

export interface Got {
  status: number;
  cache: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** The origin's echo (parsed), or the raw text when not JSON. */
  body: Record<string, any>;
  bytes: number;
}

export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Got> {
  const r = await request(`${base}${path}`, { headers });
  const text = await r.body.text();
  let body: Record<string, any>;
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    body = { text };
  }
  const cache = r.headers['x-cache'];
  return { status: r.statusCode, cache: typeof cache === 'string' ? cache : undefined, headers: r.headers, body, bytes: Buffer.byteLength(text) };
}
