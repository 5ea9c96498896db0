/**
 * TLS termination on the listener: node:https with the gateway's HTTP options, the PEM files
 * of `server.tls` (./tls-files.ts), and a certificate swap for reloads that keeps every open
 * connection. Client certificates are asked for (with a `clientCa`) but not enforced at the
 * handshake (`rejectUnauthorized: false`): a route that needs one answers 401 with the reason
 * (src/plugins/use-identity.ts), and routes that do not need one stay open to every client.
 *
 * Session resumption: node's default session tickets (RFC 5077; TLS 1.3 PSK tickets), keys made
 * per process. A certificate swap keeps the ticket keys, so sessions survive a reload, unless the
 * client CA changed (then old sessions must not resume past the new CA: new keys).
 *
 * HTTP/2 (`server.tls.http2`, on by default): node's `http2.createSecureServer({ allowHTTP1 })`
 * offers `h2` and `http/1.1` by ALPN; HTTP/1.1 clients get the same node:http machinery (its
 * timeouts and header limit are set on the server below), HTTP/2 requests arrive as node's
 * compatibility objects. Those carry `:authority` instead of `Host` (copied over, so every later
 * step reads one name) and reject connection-specific headers (see ./close-connection.ts). The
 * server is handed out typed as node:http's Server: the gateway uses only what both have, and
 * `closeIdleConnections` / `closeAllConnections` are given HTTP/2 meanings here (GOAWAY to every
 * session; destroy every socket).
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import { createSecureServer, type Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { ServerTlsConfig } from '../config/schema.js';
import { loadListenerTls } from './tls-files.js';

/** Streams one HTTP/2 client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; node's default is unbounded). */
export const HTTP2_MAX_CONCURRENT_STREAMS = 100;
/** Memory (MB) one HTTP/2 session may hold in nghttp2 before new streams are refused (node's maxSessionMemory). */
export const HTTP2_MAX_SESSION_MEMORY_MB = 10;

/** Who the listener trusted for client certificates, to tell on a swap whether that changed. */
const CLIENT_TRUST = Symbol('gateway.clientTrust');
interface ClientTrust {
  ca: string;
  requestCert: boolean;
}

function clientTrust(loaded: ReturnType<typeof loadListenerTls>): ClientTrust {
  const ca = loaded.context.ca;
  const text = ca === undefined ? '' : (Array.isArray(ca) ? ca : [ca]).map((c) => (typeof c === 'string' ? c : Buffer.from(c).toString('latin1'))).join('\n');
  return { ca: text, requestCert: loaded.requestCert };
}

export function createTlsServer(tls: ServerTlsConfig, baseDir: string, options: ServerOptions, listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const loaded = loadListenerTls(tls, baseDir);
  const server = tls.http2
    ? createHttp2Server(loaded, options, listener)
    : createServer(
        {
          ...options,
          ...loaded.context,
          requestCert: loaded.requestCert,
          rejectUnauthorized: false,
          ALPNProtocols: loaded.alpn,
        },
        listener,
      );
  (server as unknown as { [CLIENT_TRUST]: ClientTrust })[CLIENT_TRUST] = clientTrust(loaded);
  return server as Server;
}

const SESSIONS = Symbol('gateway.http2Sessions');

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** What an HTTP/1 server reads from its options, as properties of the HTTP/2 server's HTTP/1 side. */
interface Http1Side {
  maxHeaderSize?: number;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  headersTimeout?: number;
  connectionsCheckingInterval?: number;
}

function closeIdleSession(this: Http2Session): void {
  if (!this.closed) this.close();
}

/** Size of a header list as HTTP/2 counts it (RFC 9113 §6.5.2: name + value + 32 per field). */
function headerBytes(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length + (i & 1 ? 0 : 32);
  return n;
}

function createHttp2Server(loaded: ReturnType<typeof loadListenerTls>, options: ServerOptions, listener: Listener): Server {
  const maxHeaderBytes = options.maxHeaderSize;
  const server = createSecureServer(
    {
      ...loaded.context,
      allowHTTP1: true,
      requestCert: loaded.requestCert,
      rejectUnauthorized: false,
      ALPNProtocols: loaded.alpn,
      maxSendHeaderBlockLength: options.maxHeaderSize,
      // One client may not open unbounded streams nor make nghttp2 hold unbounded memory (rapid reset and kin).
      settings: { maxHeaderListSize: options.maxHeaderSize, maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS },
      maxSessionMemory: HTTP2_MAX_SESSION_MEMORY_MB,
    },
    ((req: IncomingMessage, res: ServerResponse) => {
      if (req.httpVersionMajor === 2) {
        // nghttp2 does not enforce our own maxHeaderListSize: the same limit as HTTP/1's 431, per stream.
        if (maxHeaderBytes !== undefined && headerBytes(req.rawHeaders) > maxHeaderBytes) {
          res.writeHead(431, { 'content-length': 0 });
          res.end();
          return;
        }
        // `:authority` stands for Host in HTTP/2 (RFC 9113 §8.3.1): one name for every later step.
        if (req.headers.host === undefined) {
          const authority = req.headers[':authority'];
          if (typeof authority === 'string') req.headers.host = authority;
        }
      }
      listener(req, res);
    }) as never,
  );
  // Only values given: node's connection checker asserts that its timeouts are numbers (an undefined one aborts the process).
  const side = server as unknown as Http1Side;
  for (const key of ['maxHeaderSize', 'keepAliveTimeout', 'requestTimeout', 'headersTimeout', 'connectionsCheckingInterval'] as const) {
    if (typeof options[key] === 'number') side[key] = options[key];
  }
  const sessions = new Set<Http2Session>();
  (server as unknown as { [SESSIONS]: Set<Http2Session> })[SESSIONS] = sessions;
  const sockets = new Set<Socket>();
  const idleMs = options.keepAliveTimeout ?? 65_000;
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // An idle session is let go like an idle HTTP/1 keep-alive connection: GOAWAY, and its open streams (if any) still finish.
    session.setTimeout(idleMs, closeIdleSession);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // node's Http2SecureServer has closeIdleConnections for its HTTP/1 side (untyped).
  const http1CloseIdle = (server as unknown as { closeIdleConnections(): void }).closeIdleConnections.bind(server);
  Object.assign(server, {
    /** HTTP/1: close the idle keep-alive connections; HTTP/2: GOAWAY, each session ends once its streams have. */
    closeIdleConnections(): void {
      http1CloseIdle();
      goAwayHttp2(server as unknown as Server);
    },
    /** GOAWAY first, then the sockets on the next turn: destroyed in the same tick, the GOAWAY frame would never leave and clients would see a reset. */
    closeAllConnections(): void {
      goAwayHttp2(server as unknown as Server);
      setImmediate(() => {
        for (const s of sockets) s.destroy();
      });
    },
  });
  return server as unknown as Server;
}

/** Tells every HTTP/2 client to open no new streams on its connection (GOAWAY); HTTP/1 answers say `Connection: close` instead. */
export function goAwayHttp2(server: Server): void {
  const sessions = (server as unknown as { [SESSIONS]?: Set<Http2Session> })[SESSIONS];
  if (sessions) for (const s of sessions) if (!s.closed) s.close();
}

/**
 * Points a listening TLS server at the certificate, key and client CA `tls` names now. New
 * handshakes use them; open connections keep the context they were made with. Throws a
 * ConfigError (and changes nothing) when the files cannot be used.
 *
 * The session-ticket keys survive a certificate swap, so clients resume. When the client CA (or
 * whether a certificate is asked for) changed, they are replaced: a resumed session skips the
 * certificate check and would keep a client certificate the new CA no longer vouches for.
 */
export function swapListenerCertificate(server: Server, tls: ServerTlsConfig, baseDir: string): void {
  const loaded = loadListenerTls(tls, baseDir);
  const s = server as unknown as TlsServer & { requestCert: boolean; [CLIENT_TRUST]?: ClientTrust };
  const trust = clientTrust(loaded);
  const before = s[CLIENT_TRUST];
  const sameTrust = before !== undefined && before.ca === trust.ca && before.requestCert === trust.requestCert;
  const ticketKeys = sameTrust ? s.getTicketKeys() : randomBytes(48);
  s.setSecureContext(loaded.context);
  s.setTicketKeys(ticketKeys);
  s.requestCert = loaded.requestCert;
  s[CLIENT_TRUST] = trust;
}
