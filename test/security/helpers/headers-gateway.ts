/**
 * For the header / client-IP security tests: an upstream of our own that records every request
 * it receives (raw header lines included), a gateway in front of it with a small fixture schema,
 * and a raw-socket client for what fetch cannot send (duplicate Host, absolute-form targets).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { startGateway, type RunningGateway } from '../../../src/index.js';
import { createLogger, type Logger } from '../../../src/telemetry/logger.js';
import { configFrom } from '../../helpers/gateway.js';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Header names exactly as they arrived, lower-cased. */
  names: string[];
}

export interface EchoUpstream {
  url: string;
  received: Received[];
  last(): Received | undefined;
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const names: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) names.push(req.rawHeaders[i]!.toLowerCase());
    received.push({ method: req.method!, url: req.url!, headers: req.headers, names });
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    last: () => received.at(-1),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

export const JWT_SECRET = 'headers-test-secret-with-enough-bytes-0123456789';

export function signToken(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
}

const FIXTURE = fileURLToPath(new URL('../fixtures/headers/', import.meta.url));

export interface HeadersGatewayOptions {
  /** Mutates the config (server, auth, rateLimit…) before it is validated. */
  configure?: (config: Record<string, any>) => void;
  logger?: Logger;
}

/** A gateway with one passthrough route `/echo` → the echo upstream, and the fixture schema. */
export async function startHeadersGateway(upstream: EchoUpstream, opts: HeadersGatewayOptions = {}): Promise<RunningGateway> {
  const raw: Record<string, any> = {
    // drainGraceMs 0: close() does not wait a grace period for the test's idle keep-alive sockets.
    server: { port: 0, host: '127.0.0.1', drainMs: 500, drainGraceMs: 0 },
    logging: { level: 'silent' },
    auth: { jwt: { algorithms: ['HS256'], secret: JWT_SECRET } },
    upstreams: { echo: { protocol: 'http', targets: [{ url: upstream.url }], timeoutMs: 2000 } },
    routes: [{ name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'echo' }],
  };
  opts.configure?.(raw);
  return startGateway({
    config: configFrom(raw),
    port: 0,
    host: '127.0.0.1',
    schemaDir: `${FIXTURE}schema`,
    resolversDir: `${FIXTURE}resolvers`,
    logger: opts.logger ?? createLogger({ level: 'silent' }),
  });
}

/** Sends bytes exactly as written and returns the status code of the answer (0 when the socket closed without one). */
export function rawStatus(base: string, head: string): Promise<{ status: number; text: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname, () => s.write(head));
    let out = '';
    s.setTimeout(5000, () => s.destroy());
    s.on('data', (d) => {
      out += d.toString('latin1');
      // One answer is enough; keep-alive would hold the socket open.
      if (/\r\n\r\n/.test(out) && (/content-length: 0\r\n/i.test(out) || /\r\n\r\n[\s\S]*\}$/.test(out))) s.destroy();
    });
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? 0), text: out }));
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
  });
}
