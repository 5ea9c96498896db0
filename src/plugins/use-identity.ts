/**
 * Establishes who is calling, for GraphQL and passthrough alike, and enforces the route's
 * authentication requirement and roles.
 *
 * - `Authorization: Bearer <jwt>` is verified (src/auth/jwt-verifier.ts); an invalid token is a
 *   401 for the whole request with `WWW-Authenticate: Bearer error="invalid_token"` and the reason.
 * - The API-key header is looked up (src/auth/api-keys.ts); an unknown key is a 403. With
 *   `auth.apiKeys.queryParam`, a key may come from that query parameter instead (the header wins
 *   when both are sent). The parameter is taken out of the request's query (and `req.url`) first,
 *   on every request, so it is never forwarded, cached by or logged; sent twice, it is a 400.
 * - With `server.tls.clientCa`, a verified client certificate (src/auth/client-certificate.ts)
 *   is an identity of kind `mtls` when no token or API key was sent. A route with `auth: mtls`
 *   takes its identity from the certificate alone; an unverified one is a 401 naming the reason.
 * - `routes[].auth` (none | jwt | apiKey | mtls | any): a missing credential is a 401;
 *   `routes[].roles`: an identity holding none of them is a 403.
 * - Without a credential the identity is anonymous, keyed by client IP. A credential no
 *   configured auth kind verifies (a bearer token without `auth.jwt`, an `X-API-Key` without
 *   `auth.apiKeys`) leaves the caller anonymous too, as Kong and Apollo Router do for a route
 *   without an auth plugin; the gateway says so in a warn log line (at most one a minute per
 *   kind) and in the refusal of any field that needs an identity (src/auth/field-authorization.ts).
 * - Each failed authentication (bad token, malformed header, unknown key) is handed to
 *   `onFailure` before it is answered, so the auth throttle (use-auth-throttle.ts) counts it.
 *
 * Upstreams then receive the verified identity as X-User-Id / X-User-Roles / X-Client-Id
 * (HTTP headers or gRPC metadata); copies sent by the client are always removed first.
 */
import type { AuthConfig, RouteConfig } from '../config/schema.js';
import type { RequestContext } from '../context.js';
import { BadRequest, Forbidden, Unauthenticated, type GatewayError } from '../errors.js';
import { takeQueryParam } from '../http/query-param.js';
import { ApiKeyStore } from '../auth/api-keys.js';
import { JwtVerifier, reasonFor, type JwtVerifierOptions, type VerifiedToken } from '../auth/jwt-verifier.js';
import { clientCertificate } from '../auth/client-certificate.js';
import { Introspector, type Introspected, type IntrospectorOptions } from '../auth/introspection.js';
import type { GatewayPlugin } from './types.js';
import { failureKey } from './use-auth-throttle.js';
import type { Logger } from '../telemetry/logger.js';

/** Options for {@link useIdentity}. */
export interface IdentityOptions {
  /** The `auth` section of the config. */
  auth: AuthConfig;
  /** Routes, for their `auth` and `roles`. @default [] */
  routes?: readonly RouteConfig[];
  /** JWKS fetching behaviour. */
  jwks?: JwtVerifierOptions;
  /**
   * Called once for each failed authentication (bad token, malformed Authorization header,
   * unknown API key) before the error is answered; the auth throttle counts them. @default none
   */
  onFailure?: (ctx: RequestContext) => Promise<void>;
  /** Receives the warning about credentials no configured auth kind verifies, and the introspection breaker's changes. @default none */
  logger?: Logger;
  /** Where the introspection endpoint's breaker reports, as an upstream's (src/auth/introspection.ts). @default none */
  events?: IntrospectorOptions['events'];
  /** The listener asks for client certificates (`server.tls.clientCa`): a verified one is an identity. @default false */
  clientCertificates?: boolean;
  /** Roles of certificate identities by subject (`server.tls.clientRoles`). @default {} */
  clientRoles?: Readonly<Record<string, string[]>>;
}

/** Identity kinds that satisfy a route's `auth: jwt`: a verified JWT, a browser session, an introspected token. */
const BEARER_KINDS: ReadonlySet<string> = new Set(['jwt', 'session', 'token']);
/** Three base64url parts: a JWS compact serialisation; anything else is an opaque token. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Least time between two warnings about the same kind of ignored credential. */
const IGNORED_WARN_INTERVAL_MS = 60_000;
const DEFAULT_API_KEY_HEADER = 'x-api-key';

interface RouteRule {
  auth: RouteConfig['auth'];
  roles: ReadonlySet<string> | null;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

function challenge(reason: string): Record<string, string> {
  return { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${reason.replace(/"/g, "'")}"` };
}

const MISSING = { 'WWW-Authenticate': 'Bearer' };
const NO_ROLES: string[] = Object.freeze([]) as unknown as string[];

export function useIdentity(opts: IdentityOptions): GatewayPlugin {
  const verifier = opts.auth.jwt ? new JwtVerifier(opts.auth.jwt, { jwksCooldownMs: opts.auth.jwt.jwksCooldownMs, ...opts.jwks }) : undefined;
  const keys = opts.auth.apiKeys ? new ApiKeyStore(opts.auth.apiKeys) : undefined;
  const introspector = opts.auth.introspection ? new Introspector(opts.auth.introspection, { events: opts.events, logger: opts.logger }) : undefined;
  const queryParam = keys?.queryParam;
  const keyHint = opts.auth.apiKeys ? `${opts.auth.apiKeys.header}${opts.auth.apiKeys.queryParam ? ` or ?${opts.auth.apiKeys.queryParam}=` : ''}` : 'X-API-Key';
  const certs = opts.clientCertificates === true;
  const certRoles = new Map(Object.entries(opts.clientRoles ?? {}));
  const rules = new Map<string, RouteRule>();
  for (const r of opts.routes ?? []) {
    if (r.auth !== 'none' || r.roles?.length) rules.set(r.name, { auth: r.auth, roles: r.roles?.length ? new Set(r.roles) : null });
  }
  // Start-up decides whether a credential can go unverified at all; the request path only compares a timestamp.
  const ignoredBearer = verifier || introspector ? undefined : { at: -Infinity, msg: 'an Authorization header was ignored: this gateway has no auth.jwt configured, so the caller stays anonymous' };
  const ignoredKey = keys ? undefined : { at: -Infinity, msg: `an ${DEFAULT_API_KEY_HEADER} header was ignored: this gateway has no auth.apiKeys configured, so the caller stays anonymous` };
  function warnIgnored(ctx: RequestContext, note: { at: number; msg: string }): void {
    const now = Date.now();
    if (now - note.at < IGNORED_WARN_INTERVAL_MS) return;
    note.at = now;
    opts.logger?.warn({ requestId: ctx.id, path: ctx.path }, note.msg);
  }

  /** Sets the identity a verified token carries, then applies the route's rule. */
  function fromVerified(ctx: RequestContext, verified: VerifiedToken): void {
    const sub = typeof verified.payload.sub === 'string' ? verified.payload.sub : undefined;
    ctx.identity = { kind: 'jwt', subject: sub, roles: verified.roles, clientId: sub ?? ctx.ip, claims: verified.payload };
    enforce(ctx);
  }

  /** Answers a failed authentication with `err`, once the failure hook has counted it. */
  function fail(ctx: RequestContext, err: GatewayError): Promise<never> | never {
    if (!opts.onFailure) throw err;
    return opts.onFailure(ctx).then(() => {
      throw err;
    });
  }

  async function fromToken(ctx: RequestContext, token: string): Promise<void> {
    let verified;
    try {
      verified = await verifier!.verify(token);
    } catch (err) {
      const reason = reasonFor(err);
      return fail(ctx, Unauthenticated(`invalid token: ${reason}`).withHeaders(challenge(reason)));
    }
    fromVerified(ctx, verified);
  }

  /** Sets the identity an introspected (active) opaque token carries. */
  function fromIntrospected(ctx: RequestContext, r: Introspected): void | Promise<never> {
    if (!r.active) return fail(ctx, Unauthenticated('invalid token: inactive').withHeaders(challenge('inactive')));
    ctx.identity = { kind: 'token', subject: r.sub, roles: r.roles, clientId: r.sub ?? ctx.ip, claims: r.claims };
    enforce(ctx);
  }

  async function fromOpaque(ctx: RequestContext, token: string): Promise<void> {
    return fromIntrospected(ctx, await introspector!.introspect(token));
  }

  /** The identity a verified client certificate carries; a refused one fails like a bad token. */
  function fromCertificate(ctx: RequestContext, required: boolean): void | Promise<void> {
    const cert = clientCertificate(ctx.req);
    if (cert.kind === 'verified') {
      ctx.identity = { kind: 'mtls', subject: cert.subject, roles: certRoles.get(cert.subject) ?? NO_ROLES, clientId: cert.subject, claims: undefined };
      return enforce(ctx);
    }
    if (cert.kind === 'refused' && required) return fail(ctx, Unauthenticated(cert.reason));
    if (required) throw Unauthenticated('this route needs a client certificate');
    return undefined;
  }

  function enforce(ctx: RequestContext): void {
    const t = ctx.target;
    if (t.kind !== 'route') return;
    const rule = rules.get(t.route.name);
    if (!rule) return;
    const id = ctx.identity!;
    if (rule.auth === 'jwt' && !BEARER_KINDS.has(id.kind)) throw Unauthenticated('this route needs a bearer token').withHeaders(MISSING);
    if (rule.auth === 'apiKey' && id.kind !== 'apiKey') throw Unauthenticated(`this route needs an API key (${keyHint})`);
    if (rule.auth === 'mtls' && id.kind !== 'mtls') throw Unauthenticated('this route needs a client certificate');
    if (rule.auth === 'any' && id.kind === 'anonymous') throw Unauthenticated('this route needs a bearer token or an API key').withHeaders(MISSING);
    if (rule.roles && !id.roles.some((r) => rule.roles!.has(r))) throw Forbidden(`this route needs one of the roles: ${[...rule.roles].join(', ')}`);
  }

  return {
    name: 'identity',
    onRequest(ctx) {
      const t = ctx.target.kind;
      if (t === 'internal' || t === 'none' || t === 'method-not-allowed') return;
      // The key parameter leaves the URL (forwarded, cached, logged) whoever the caller turns out to be.
      const fromQuery = queryParam === undefined ? undefined : takeKeyFromQuery(ctx, queryParam);
      // A browser session (use-oidc-session.ts, earlier in the chain) already said who is calling.
      if (ctx.identity) return enforce(ctx);
      // A route that asks for a client certificate is answered by the certificate alone.
      if (certs && ctx.target.kind === 'route' && rules.get(ctx.target.route.name)?.auth === 'mtls') return fromCertificate(ctx, true);
      const authz = ctx.req.headers.authorization;
      if (authz !== undefined && (verifier || introspector)) {
        const m = BEARER.exec(authz);
        if (!m) return fail(ctx, Unauthenticated('invalid token: malformed authorization header').withHeaders(challenge('malformed authorization header')));
        if (introspector && (!verifier || !JWT_SHAPE.test(m[1]!))) {
          const known = introspector.remembered(m[1]!);
          return known ? fromIntrospected(ctx, known) : fromOpaque(ctx, m[1]!);
        }
        // A token verified before is answered synchronously, so the rest of the chain stays synchronous too.
        const known = verifier!.remembered(m[1]!);
        return known ? fromVerified(ctx, known) : fromToken(ctx, m[1]!);
      }
      if (keys) {
        const presented = ctx.req.headers[keys.header] ?? fromQuery;
        if (presented !== undefined) {
          const owner = typeof presented === 'string' ? keys.lookup(presented) : undefined;
          if (!owner) return fail(ctx, Forbidden('unknown API key'));
          ctx.identity = { kind: 'apiKey', subject: owner.owner, roles: owner.roles, clientId: owner.owner, claims: undefined };
          return enforce(ctx);
        }
      }
      if (certs) {
        const r = fromCertificate(ctx, false);
        if (ctx.identity) return r;
      }
      if (ignoredBearer && authz !== undefined) warnIgnored(ctx, ignoredBearer);
      if (ignoredKey && ctx.req.headers[DEFAULT_API_KEY_HEADER] !== undefined) warnIgnored(ctx, ignoredKey);
      // Anonymous callers are told apart by address; an IPv6 client by its /64, which one host or
      // site holds whole (else rotating addresses inside it would get a fresh window each time).
      ctx.identity = { kind: 'anonymous', subject: undefined, roles: NO_ROLES, clientId: failureKey(ctx.ip), claims: undefined };
      enforce(ctx);
    },
  };
}

/**
 * Removes the API-key parameter from the request's query and URL, and returns its value
 * (undefined when absent). Two values have two readings: 400.
 */
function takeKeyFromQuery(ctx: RequestContext, name: string): string | undefined {
  const taken = takeQueryParam(ctx.query, name);
  if (!taken) return undefined;
  ctx.query = taken.rest;
  const url = ctx.req.url ?? '/';
  const q = url.indexOf('?');
  ctx.req.url = (q === -1 ? url : url.slice(0, q)) + (taken.rest ? `?${taken.rest}` : '');
  if (taken.values.length > 1) throw BadRequest(`more than one ${name} query parameter`);
  return taken.values[0];
}
