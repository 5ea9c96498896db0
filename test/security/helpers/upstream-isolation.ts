/**
 * Fixtures for the upstream-isolation and slow-client tests: a tiny HTTP upstream and a tiny
 * gRPC upstream that record what reached them, and a gateway in front of both with its own
 * small schema (test/security/fixtures/upstream).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Server, ServerCredentials, loadPackageDefinition, status, type GrpcObject, type ServiceClientConstructor, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Logger } from 'pino';
import { startGateway, type RunningGateway } from '../../../src/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { configFrom } from '../../helpers/gateway.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'upstream');
export const VAULT_PROTO = 'test/security/fixtures/upstream/vault.proto';

export interface StoreCall {
  method: string;
  url: string;
  /** Bytes of body received when the request ended (or was cut). */
  bytes: number;
  /** True when the body ended normally. */
  complete: boolean;
  /** ms between the request's head arriving and its body ending. */
  bodyMs: number;
}

export interface Store {
  url: string;
  calls: StoreCall[];
  /** TCP connections the gateway opened so far. */
  connections: number;
  /** Requests whose head arrived and that have not been answered yet. */
  open: number;
  close(): Promise<void>;
}

/** An HTTP upstream: `handler` answers after the body was read (or decides to stall). */
export async function startStore(handler: (req: IncomingMessage, res: ServerResponse, call: StoreCall) => void | Promise<void>): Promise<Store> {
  const sockets = new Set<Socket>();
  const store: Store = { url: '', calls: [], connections: 0, open: 0, close: async () => {} };
  const server = createServer((req, res) => {
    const t0 = Date.now();
    const call: StoreCall = { method: req.method!, url: req.url!, bytes: 0, complete: false, bodyMs: 0 };
    store.calls.push(call);
    store.open++;
    res.once('close', () => store.open--);
    req.on('data', (c: Buffer) => (call.bytes += c.length));
    req.once('end', () => {
      call.complete = true;
      call.bodyMs = Date.now() - t0;
      void handler(req, res, call);
    });
    req.once('error', () => {
      call.bodyMs = Date.now() - t0;
    });
  });
  server.on('connection', (s: Socket) => {
    store.connections++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  store.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
  return store;
}

export interface Vault {
  address: string;
  /** Request messages received, as proto-loader decoded them. */
  calls: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A gRPC upstream for isolation.v1.Vault; ids containing `explode` fail with INTERNAL and secret details. */
export async function startVault(): Promise<Vault> {
  const def = loadSync(join(FIXTURES, 'vault.proto'), { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true });
  const pkg = loadPackageDefinition(def) as GrpcObject;
  const ctor = ((pkg.isolation as GrpcObject).v1 as GrpcObject).Vault as ServiceClientConstructor;
  const vault: Vault = { address: '', calls: [], close: async () => {} };
  const server = new Server();
  server.addService(ctor.service, {
    Lookup(call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) {
      vault.calls.push(call.request);
      const ids = (call.request.ids as string[] | undefined) ?? [];
      if (ids.includes('explode')) return cb({ code: status.INTERNAL, details: 'open /etc/passwd failed: secret-grpc-detail' });
      if (ids.includes('down')) return cb({ code: status.UNAVAILABLE, details: 'backend db at 10.9.8.7:5432 secret-grpc-detail' });
      cb(null, { ids, count: ids.length });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  vault.address = `127.0.0.1:${port}`;
  vault.close = () => new Promise((r) => server.tryShutdown(() => r()));
  return vault;
}

export interface IsolationGatewayOptions {
  store: Store;
  vault: Vault;
  /** Mutates the config (upstreams.store / upstreams.vault / routes / server) before validation. */
  configure?: (c: Record<string, any>) => void;
  logger?: Logger;
}

/** A gateway with routes /store/* → store and /vault → vault (Lookup, `ids` comma-separated). */
export async function startIsolationGateway(opts: IsolationGatewayOptions): Promise<RunningGateway> {
  const c: Record<string, any> = {
    // drainGraceMs 0: close() does not wait a grace period for the test's idle keep-alive sockets.
    server: { port: 0, host: '127.0.0.1', drainMs: 500, drainGraceMs: 0 },
    logging: { level: 'silent' },
    upstreams: {
      store: { protocol: 'http', targets: [{ url: opts.store.url }], timeoutMs: 2000 },
      vault: { protocol: 'grpc', proto: VAULT_PROTO, targets: [{ url: opts.vault.address }], timeoutMs: 2000 },
    },
    routes: [
      { name: 'store', match: { pathPrefix: '/store' }, upstream: 'store', rewrite: { stripPrefix: '/store' } },
      { name: 'vault', match: { path: '/vault', methods: ['GET', 'POST'] }, upstream: 'vault', grpc: { method: 'isolation.v1.Vault/Lookup', repeated: ['ids'] } },
    ],
  };
  opts.configure?.(c);
  return startGateway({
    config: configFrom(c),
    port: 0,
    host: '127.0.0.1',
    schemaDir: join(FIXTURES, 'schema'),
    resolversDir: join(FIXTURES, 'resolvers'),
    logger: opts.logger ?? createLogger({ level: 'silent' }),
  });
}

/** POSTs a GraphQL query; returns status and parsed body. */
export async function gql(base: string, query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { status: res.status, body: await res.json() };
}

export interface SlowRequest {
  /** Resolves with the raw answer (status line + headers + body) once the gateway closes or answers. */
  answer: Promise<string>;
  socket: Socket;
  write(data: string | Buffer): void;
}

/** Opens a raw connection and sends `head` (request line + headers, ending in an empty line); the body is written by the test. */
export function openRaw(base: string, head: string): SlowRequest {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  const answer = new Promise<string>((resolve) => {
    socket.once('close', () => resolve(text));
    socket.on('error', () => {});
  });
  socket.write(head);
  return { answer, socket, write: (d) => socket.write(d) };
}

/** The status code of a raw HTTP answer, or 0 when the connection closed without one. */
export function statusOf(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
