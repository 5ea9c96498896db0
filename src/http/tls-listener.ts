/**
 * TLS termination on the listener: node:https with the gateway's HTTP options, the PEM files
 * of `server.tls` (./tls-files.ts), and a certificate swap for reloads that keeps every open
 * connection. Client certificates are asked for (with a `clientCa`) but not enforced at the
 * handshake (`rejectUnauthorized: false`): a route that needs one answers 401 with the reason
 * (src/plugins/use-identity.ts), and routes that do not need one stay open to every client.
 *
 * Session resumption: node's default session tickets (RFC 5077; TLS 1.3 PSK tickets), keys made
 * per process. A certificate swap keeps the ticket keys, so sessions survive a reload.
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server as TlsServer } from 'node:tls';
import type { ServerTlsConfig } from '../config/schema.js';
import { loadListenerTls } from './tls-files.js';

export function createTlsServer(tls: ServerTlsConfig, baseDir: string, options: ServerOptions, listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const loaded = loadListenerTls(tls, baseDir);
  return createServer(
    {
      ...options,
      ...loaded.context,
      requestCert: loaded.requestCert,
      rejectUnauthorized: false,
      ALPNProtocols: loaded.alpn,
    },
    listener,
  );
}

/**
 * Points a listening TLS server at the certificate, key and client CA `tls` names now. New
 * handshakes use them; open connections keep the context they were made with. Throws a
 * ConfigError (and changes nothing) when the files cannot be used.
 */
export function swapListenerCertificate(server: Server, tls: ServerTlsConfig, baseDir: string): void {
  const loaded = loadListenerTls(tls, baseDir);
  const s = server as unknown as TlsServer & { requestCert: boolean };
  const ticketKeys = s.getTicketKeys();
  s.setSecureContext(loaded.context);
  s.setTicketKeys(ticketKeys);
  s.requestCert = loaded.requestCert;
}
