/**
 * Header names the gateway owns. Core knowledge, because two layers read it: the proxy drops
 * these names from what a client sent (src/proxy/forward-headers.ts), and the config checks refuse
 * a route whose header operations would set or rename one (src/config/cross-checks.ts).
 */

/** Never forwarded in either direction (RFC 9110 §7.6.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
]);

/**
 * Request headers the gateway sets itself, or that name the client, its address, its
 * certificate or the URL it asked for. What a client sent under these names never passes: the upstream learns the client
 * only from the X-Forwarded-For / -Proto / -Host the gateway writes.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  // `Expect: 100-continue` is answered by node's server on the client side; undici refuses it.
  'expect',
  'host', 'x-user-id', 'x-user-roles', 'x-client-id', 'x-request-id', 'traceparent',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'forwarded', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-ssl',
  'x-forwarded-scheme', 'x-forwarded-uri', 'x-forwarded-path', 'x-original-forwarded-for',
  'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip', 'fastly-client-ip',
  'x-cluster-client-ip', 'x-original-url', 'x-rewrite-url', 'x-original-host', 'x-host',
  // The client certificate as a TLS-terminating proxy (Envoy, nginx, HAProxy, Traefik) reports it:
  // an upstream that trusts these would take a client's own word for its certificate.
  'x-forwarded-client-cert', 'x-ssl-client-cert', 'x-ssl-client-verify', 'x-ssl-client-s-dn',
  'x-ssl-client-dn', 'ssl-client-cert', 'x-client-cert', 'x-client-verify',
]);

/**
 * True for a client header whose name is reserved in any spelling an upstream might read it in:
 * CGI, WSGI, PHP and Rack servers map `-`, `_` (and some `.`) to the same variable, so
 * `X_User_Roles` and `x.user.roles` are `X-User-Roles` to them. Node has lower-cased the name.
 */
export function isReservedHeader(name: string): boolean {
  if (RESERVED_HEADERS.has(name)) return true;
  return SEPARATOR_LOOKALIKE.test(name) && RESERVED_HEADERS.has(name.replace(SEPARATOR_LOOKALIKES, '-'));
}

const SEPARATOR_LOOKALIKE = /[_.]/;
const SEPARATOR_LOOKALIKES = /[_.]/g;

/** Message framing: a route's header operations never write these (a wrong length desynchronises the connection). */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/**
 * Why a route's header operation may not write (add, or rename from or to) `name` in the given
 * direction, or undefined when it may. `name` is lower-cased.
 */
export function unwritableHeader(name: string, direction: 'request' | 'response'): string | undefined {
  // Config time only: every spelling with `_` or `.` for `-` counts, as for reserved names.
  const dashed = name.replace(SEPARATOR_LOOKALIKES, '-');
  if (HOP_BY_HOP.has(dashed)) return 'a hop-by-hop header, in any spelling';
  if (FRAMING.has(dashed)) return 'set by the gateway from the body it sends, in any spelling';
  if (direction === 'request') return isReservedHeader(name) ? 'set by the gateway (identity, forwarding or tracing), in any spelling' : undefined;
  return dashed === 'x-request-id' ? 'set by the gateway, in any spelling' : undefined;
}

/** An RFC 9110 §5.6.2 token: what a header field name may be. */
export function isHeaderName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (!TCHAR[name.charCodeAt(i)]) return false;
  return true;
}

const TCHAR: boolean[] = (() => {
  const t = new Array<boolean>(128).fill(false);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") t[c.charCodeAt(0)] = true;
  return t;
})();

/** What of the request's Identity (src/context.ts) the identity headers carry. */
interface IdentityFields {
  kind: string;
  subject: string | undefined;
  roles: readonly string[];
  clientId: string;
  accessToken?: string;
}

/** The headers through which upstreams learn the verified caller (reserved: a client's own never pass). */
export const IDENTITY_HEADERS = ['x-user-id', 'x-user-roles', 'x-client-id'] as const;

/**
 * Writes the verified caller's identity headers into `out` (nothing for an anonymous caller):
 * one spelling for passthrough, JSON calls, gRPC metadata and the response cache's key. With
 * `withToken`, a browser session's access token goes on as `Authorization: Bearer` (the cookie
 * stays at the gateway).
 */
export function writeIdentityHeaders(out: Record<string, unknown>, identity: IdentityFields | undefined, withToken: boolean): void {
  if (identity === undefined || identity.kind === 'anonymous') return;
  if (identity.subject) out['x-user-id'] = identity.subject;
  out['x-user-roles'] = identity.roles.join(',');
  out['x-client-id'] = identity.clientId;
  if (withToken && identity.accessToken !== undefined) out.authorization = `Bearer ${identity.accessToken}`;
}
