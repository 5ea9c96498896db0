/**
 * Refuses a request whose target host has two readings, before anything reads it (X-Forwarded-Host,
 * CORS, logs): two Host fields, a Host that is not `host[:port]` (RFC 9110 §7.2, RFC 3986 §3.2.2),
 * none at all on HTTP/1.1 (RFC 9112 §3.2), or an absolute-form target whose authority is not
 * the Host (RFC 9112 §3.2.2 tells a server to prefer the target; an upstream might not).
 *
 * Stricter than RFC 3986 on purpose: a reg-name is limited to letters, digits, `-`, `.`, `_`
 * and `~` (no percent-encoding, no sub-delims such as `,` or `;` that a list-valued header or a
 * downstream parser would split on), and a port, when given, is 1-65535 without leading zeros.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { BadRequest } from '../errors.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useHostCheck}. */
export interface HostCheckOptions {
  /** Refuse HTTP/1.1 requests without a Host (HTTP/1.0 may omit it). @default true */
  requireHost?: boolean;
}

const REG_NAME = /^[A-Za-z0-9._~-]{1,253}$/;
const PORT = /^[1-9][0-9]{0,4}$/;

/** A valid `host[:port]` as a Host or X-Forwarded-Host value. */
export function isValidHost(value: string): boolean {
  return splitHost(value) !== undefined;
}

/** `[host, port]` in lower case (port '' when absent), or undefined when the value is not `host[:port]`. */
export function splitHost(value: string): [string, string] | undefined {
  let host: string;
  let port = '';
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end === -1) return undefined;
    host = value.slice(1, end);
    // IPvFuture ("v1.x") is never a real host here; a zone id has no place in a Host.
    if (host.includes('%') || !isIPv6(host)) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '') {
      if (rest[0] !== ':') return undefined;
      port = rest.slice(1);
    }
    host = `[${host.toLowerCase()}]`;
  } else {
    const colon = value.indexOf(':');
    host = colon === -1 ? value : value.slice(0, colon);
    if (colon !== -1) port = value.slice(colon + 1);
    if (!REG_NAME.test(host)) return undefined;
    // Digits and dots only is an IPv4 address and must be one in dotted-quad form (no `127.1`).
    if (/^[0-9.]+$/.test(host) && !isIPv4(host)) return undefined;
    host = host.toLowerCase();
  }
  if (port !== '' && !(PORT.test(port) && Number(port) <= 65535)) return undefined;
  if (port === '' && value.endsWith(':')) return undefined;
  return [host, port];
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** True when an absolute-form target's authority names the same host and port as Host. */
function sameAuthority(target: string, host: [string, string]): boolean {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)/.exec(target);
  if (!m) return false;
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  if (authority.includes('@')) return false;
  const t = splitHost(authority);
  if (!t) return false;
  const dflt = DEFAULT_PORT[scheme];
  if (!dflt) return false;
  return t[0] === host[0] && (t[1] || dflt) === (host[1] || dflt);
}

/** Answers 400 BAD_REQUEST for a missing, duplicated, malformed or contradicted Host. */
export function useHostCheck(opts: HostCheckOptions = {}): GatewayPlugin {
  const requireHost = opts.requireHost ?? true;
  return {
    name: 'host-check',
    onRequest(ctx) {
      const req = ctx.req;
      // req.headers keeps only the first Host; the raw list shows every one the client sent.
      const raw = req.rawHeaders;
      let count = 0;
      for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
      if (count > 1) throw BadRequest('more than one Host header');
      const value = req.headers.host;
      if (value === undefined) {
        if (requireHost && (req.httpVersionMajor > 1 || req.httpVersionMinor >= 1)) throw BadRequest('missing Host header');
      } else {
        const host = splitHost(value);
        if (!host) throw BadRequest('invalid Host header');
        const url = req.url ?? '';
        if (url[0] !== '/' && url !== '*' && url.includes('://') && !sameAuthority(url, host)) {
          throw BadRequest('request target authority does not match Host');
        }
      }
    },
  };
}
