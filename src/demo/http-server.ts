/**
 * The HTTP side of the demo upstreams: a node:http server that records every call, applies the
 * configured misbehaviour, and serves a few generic endpoints that passthrough tests use:
 * `/echo/**` (answers with what it received), `/upload` (counts streamed bytes),
 * `/download?bytes=N&chunkMs=M` (streams N bytes), `/status/:code`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Recorder } from './recorder.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, body: () => Promise<unknown>) => void | Promise<void>;

export interface DemoHttpServer {
  url: string;
  port: number;
  recorder: Recorder;
  server: Server;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return Symbol.for('invalid-json');
  }
}

async function generic(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const path = url.pathname;
  if (path === '/echo' || path.startsWith('/echo/')) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    sendJson(res, 200, {
      method: req.method,
      url: req.url,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    return true;
  }
  if (path === '/upload') {
    let bytes = 0;
    for await (const c of req) bytes += (c as Buffer).length;
    sendJson(res, 200, { bytes });
    return true;
  }
  if (path === '/download') {
    const total = Number(url.searchParams.get('bytes') ?? 1024);
    const chunkMs = Number(url.searchParams.get('chunkMs') ?? 0);
    const type = url.searchParams.get('type') ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type });
    const chunk = Buffer.alloc(16 * 1024, 'a');
    let sent = 0;
    while (sent < total && !res.destroyed) {
      const n = Math.min(chunk.length, total - sent);
      const ok = res.write(n === chunk.length ? chunk : chunk.subarray(0, n));
      sent += n;
      if (chunkMs > 0) await new Promise((r) => setTimeout(r, chunkMs));
      else if (!ok) await new Promise((r) => res.once('drain', r));
    }
    res.end();
    return true;
  }
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status) {
    sendJson(res, Number(status[1]), { status: Number(status[1]) });
    return true;
  }
  return false;
}

export async function startHttpUpstream(handler: Handler, port = 0, host = '127.0.0.1'): Promise<DemoHttpServer> {
  const recorder = new Recorder();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    recorder.record({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers });
    const b = recorder.behaviour;
    const health = url.pathname === '/health';
    const misbehave = !health || b.failHealth;
    const go = async () => {
      if (misbehave && b.drop) {
        req.socket.destroy();
        return;
      }
      if (misbehave && b.failStatus) {
        req.resume();
        sendJson(res, b.failStatus, { error: `simulated ${b.failStatus}` });
        return;
      }
      if (health) {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      if (await generic(req, res, url)) return;
      await handler(req, res, url, () => readJson(req));
    };
    const run = () =>
      go().catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(err) });
        else res.destroy();
      });
    if (misbehave && b.delayMs > 0) setTimeout(run, b.delayMs);
    else run();
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    recorder,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const INVALID_JSON = Symbol.for('invalid-json');
