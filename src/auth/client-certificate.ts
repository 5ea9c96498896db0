/**
 * The client certificate of a request's TLS connection (mTLS, `server.tls.clientCa`), read once
 * per connection: the handshake decided it, so every request on that connection shares the answer.
 *
 * The identity is the certificate's subject CN, or when it has none its first subjectAltName
 * (a SPIFFE `URI:`, a `DNS:` name, an `email:`), as Envoy and Traefik name mTLS clients. It must
 * be forwardable as a header value (src/config/identity-values.ts), else the certificate is refused.
 */
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { isForwardableSubject } from '../config/identity-values.js';

export type ClientCertificate =
  | { kind: 'none' }
  | { kind: 'verified'; subject: string }
  | { kind: 'refused'; reason: string };

const NONE: ClientCertificate = Object.freeze({ kind: 'none' });

/** Per connection; a WeakMap, so it goes with the socket. */
const byConnection = new WeakMap<object, ClientCertificate>();

export function clientCertificate(req: IncomingMessage): ClientCertificate {
  const socket = req.socket as TLSSocket | undefined;
  if (!socket || socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return NONE;
  let known = byConnection.get(socket);
  if (!known) byConnection.set(socket, (known = readCertificate(socket)));
  return known;
}

function readCertificate(socket: TLSSocket): ClientCertificate {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return NONE;
  if (!socket.authorized) {
    const e = socket.authorizationError as unknown;
    const reason = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e ?? 'not verified');
    return { kind: 'refused', reason: `client certificate not verified (${reason})` };
  }
  const subject = certificateSubject(cert);
  if (subject === undefined) return { kind: 'refused', reason: 'client certificate has neither a subject CN nor a subjectAltName' };
  if (!isForwardableSubject(subject)) return { kind: 'refused', reason: 'client certificate subject is not 1-256 printable ASCII characters' };
  return { kind: 'verified', subject };
}

/** Subject CN, else the value of the first subjectAltName entry. */
export function certificateSubject(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'>): string | undefined {
  const cn = cert.subject?.CN as string | string[] | undefined;
  const first = Array.isArray(cn) ? cn[0] : cn;
  if (first) return first;
  const san = cert.subjectaltname;
  if (!san) return undefined;
  // Node writes `DNS:a, URI:b`; a value with special characters is JSON-quoted: `URI:"a, b"`.
  const entry = /^[A-Za-z ]+:("(?:[^"\\]|\\.)*"|[^,]*)/.exec(san);
  if (!entry) return undefined;
  const value = entry[1]!;
  if (value.startsWith('"')) {
    try {
      return JSON.parse(value) as string;
    } catch {
      return undefined;
    }
  }
  return value || undefined;
}
