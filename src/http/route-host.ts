/**
 * `routes[].match.host`: how a configured host and a request's Host are brought to one spelling
 * before they are compared (RFC 9110 §4.2.3: the host is case-insensitive; RFC 1034 §3.1: a
 * trailing dot names the same absolute domain). Both sides are lower-case ASCII (a configured
 * IDN is turned into its punycode A-label, as clients send it), without port or trailing dot.
 *
 * `*.example.com` matches any name that ends in `.example.com` with at least one label in front
 * (`a.example.com`, `a.b.example.com`), never `example.com` itself, as in Envoy and Kong.
 */
import { domainToASCII } from 'node:url';
import { isIPv4, isIPv6 } from 'node:net';

export type RouteHost = { readonly wildcard: boolean; readonly host: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A DNS name of ASCII labels (letters, digits, inner `-`, `_` tolerated for service names). */
function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  for (const label of name.split('.')) if (!LABEL.test(label.replace(/_/g, 'a'))) return false;
  return true;
}

/**
 * The configured host in its compared form, or a message saying why it cannot match anything.
 * For a wildcard, `host` is the suffix with its leading dot (`.example.com`).
 */
export function parseRouteHost(spec: string): RouteHost | string {
  let s = spec.trim();
  if (s !== spec || s === '') return 'must be a host name such as api.example.com or *.example.com, without spaces';
  const wildcard = s.startsWith('*.');
  if (wildcard) s = s.slice(2);
  if (s.includes('*')) return 'a wildcard is only allowed as the whole first label (*.example.com)';
  if (/[:/?#@]/.test(s) && !(s.startsWith('[') && s.endsWith(']'))) return 'must be a host name without scheme, port or path';
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1);
    if (wildcard || !isIPv6(inner) || inner.includes('%')) return 'must be a host name or an IP address';
    return { wildcard: false, host: `[${inner.toLowerCase()}]` };
  }
  if (isIPv4(s)) return wildcard ? 'a wildcard cannot precede an IP address' : { wildcard: false, host: s };
  // domainToASCII lower-cases, maps IDN labels to punycode and returns '' for what is not a domain.
  const ascii = domainToASCII(s);
  if (!ascii || !isDnsName(ascii)) return 'must be a host name such as api.example.com or *.example.com';
  if (/^[0-9.]+$/.test(ascii)) return 'digits and dots only must be an IPv4 address in dotted-quad form';
  return { wildcard, host: wildcard ? `.${ascii}` : ascii };
}

/**
 * The host a request is routed by, from the lower-cased host that Host-header validation
 * (src/plugins/use-host-check.ts `splitHost`) returned: one trailing dot dropped; a name with an
 * empty label (`a..b`, `.a`) matches no host route, only routes without `match.host`.
 */
export function routingHost(host: string): string | undefined {
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  if (h === '' || h.charCodeAt(0) === 46 || h.includes('..')) return undefined;
  return h;
}

/** False for IP literals, which no wildcard matches (no top-level domain is numeric). */
export function wildcardable(host: string): boolean {
  if (host.charCodeAt(0) === 91 /* [ */) return false;
  const last = host.charCodeAt(host.length - 1);
  return last < 48 || last > 57;
}
