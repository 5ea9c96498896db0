/**
 * Helpers of the path tests: an upstream that records the request target exactly as it arrived,
 * and a raw-socket client that sends a request target byte for byte (node:http's client refuses
 * tabs, spaces and non-ASCII in a path, which is what some of these tests must send).
 */
import { createServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';

export const PATHS_SECRET = 'paths-test-secret-0123456789abcdef';

/**
 * The routes every path test uses: a public `/app` route, a jwt-protected `/app/admin` route on
 * another upstream, and `/s` rewritten to `/app/public` (validated by the real config loader).
 */
export function pathsConfig(pubUrl: string, admUrl: string) {
  return parseConfig(
    stringify({
      // drainGraceMs 0: close() does not wait a grace period for the test's idle keep-alive sockets.
      server: { port: 0, host: '127.0.0.1', drainMs: 500, drainGraceMs: 0 },
      logging: { level: 'silent' },
      auth: { jwt: { algorithms: ['HS256'], secret: PATHS_SECRET } },
      upstreams: {
        pub: { protocol: 'http', targets: [{ url: pubUrl }], timeoutMs: 2000 },
        adm: { protocol: 'http', targets: [{ url: admUrl }], timeoutMs: 2000 },
      },
      routes: [
        { name: 'app', match: { pathPrefix: '/app' }, upstream: 'pub', auth: 'none' },
        { name: 'admin', match: { pathPrefix: '/app/admin' }, upstream: 'adm', auth: 'jwt' },
        { name: 'stripped', match: { pathPrefix: '/s' }, upstream: 'pub', auth: 'none', rewrite: { stripPrefix: '/s', addPrefix: '/app/public' } },
      ],
    }),
    {},
  );
}

export interface RecordingUpstream {
  url: string;
  /** `req.url` of every request received, in order. */
  received: string[];
  close(): Promise<void>;
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(req.url ?? '');
    const body = JSON.stringify({ path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export interface RawAnswer {
  status: number;
  body: string;
}

/** Sends `GET <target> HTTP/1.1` with the target's characters as bytes (latin1) and reads the whole answer. */
export function rawTarget(base: string, target: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const head = [`GET ${target} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.on('connect', () => socket.write(Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // Not end(): a half-closed client looks like an aborted one to the proxy. Connection: close ends it.
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m) return reject(new Error(`no HTTP answer for ${JSON.stringify(target)}: ${JSON.stringify(text.slice(0, 80))}`));
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), body: split === -1 ? '' : text.slice(split + 4) });
    });
  });
}
