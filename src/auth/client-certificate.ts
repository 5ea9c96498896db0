/**
 * The client certificate of a request's TLS connection (mTLS, `server.tls.clientCa`), read once
 * per connection: the handshake decided it, so every request on that connection shares the answer.
 *
 * The identity is the certificate's subject CN, or when it has none a subjectAltName picked by
 * kind: the first `URI:` (SPIFFE), else the first `DNS:` name, else the first `email:` (other kinds,
 * such as IP addresses, never name a client). A placeholder such as `<unsupported>` is refused. It
 * must be forwardable as a header value (src/config/identity-values.ts), else the certificate is refused.
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
  if (subject === undefined) return { kind: 'refused', reason: 'client certificate has no usable name: no subject CN and no URI, DNS or email subjectAltName (placeholders such as <unsupported> do not count)' };
  if (!isForwardableSubject(subject)) return { kind: 'refused', reason: 'client certificate subject is not 1-256 printable ASCII characters' };
  return { kind: 'verified', subject };
}

/** subjectAltName kinds that can name a client, in the order they are preferred (SPIFFE ids are URIs). */
const SAN_PREFERENCE = ['URI', 'DNS', 'email'] as const;

/** One `Kind:value` entry of node's subjectaltname string; a value with special characters is JSON-quoted. */
const SAN_ENTRY = /\s*([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)/y;

/** The entries of node's subjectaltname string (`DNS:a, URI:"b, c"`), or undefined when it does not read. */
function sanEntries(san: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  SAN_ENTRY.lastIndex = 0;
  while (SAN_ENTRY.lastIndex < san.length) {
    const at = SAN_ENTRY.lastIndex;
    const m = SAN_ENTRY.exec(san);
    if (!m || SAN_ENTRY.lastIndex === at) return undefined;
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        return undefined;
      }
    }
    out.push([m[1]!, value]);
  }
  return out;
}

/** A placeholder node (or OpenSSL) writes for what it could not decode, e.g. `<unsupported>`: never an identity. */
const isPlaceholder = (v: string): boolean => v.startsWith('<');

/**
 * Subject CN, else a subjectAltName chosen by kind: the first URI, else the first DNS name, else
 * the first email. Undefined when there is none, or when the chosen value is a placeholder
 * (`<unsupported>`; anything starting with `<`): the certificate is then refused.
 */
export function certificateSubject(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'>): string | undefined {
  const cn = cert.subject?.CN as string | string[] | undefined;
  const first = Array.isArray(cn) ? cn[0] : cn;
  if (first) return isPlaceholder(first) ? undefined : first;
  const san = cert.subjectaltname;
  if (!san) return undefined;
  const entries = sanEntries(san);
  if (!entries) return undefined;
  for (const kind of SAN_PREFERENCE) {
    const entry = entries.find(([k]) => k === kind);
    if (entry) return entry[1] === '' || isPlaceholder(entry[1]) ? undefined : entry[1];
  }
  return undefined;
}
