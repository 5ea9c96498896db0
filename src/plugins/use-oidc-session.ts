/**
 * Browser sessions (`auth.oidc`, docs/sessions.md): the gateway runs the OpenID Connect login
 * and keeps the tokens; the browser holds only an opaque session id in an HttpOnly cookie.
 *
 * Endpoints under `pathPrefix` (default `/auth`):
 * - `GET  /login?returnTo=`: a pending login (PKCE S256, state, nonce) kept server-side, then a
 *   redirect to the provider. `returnTo` must be a path here or on an allowed origin (./return-to).
 * - `GET  /callback`: takes the pending login of `state` (once), exchanges the code, validates the
 *   ID token, starts a session under a new id (any earlier one of this browser is revoked).
 * - `GET  /session`: the exposed claims and expiries, for the SPA's "who am I".
 * - `POST /logout` (CSRF header required): revokes the session, clears the cookie and sends the
 *   browser to the provider's end_session endpoint (JSON `{redirectTo}` for `Accept: application/json`).
 *
 * On every other request a session cookie (without an `Authorization` header) is an identity of
 * kind `session`, refreshed ahead of expiry, that the identity step (use-identity.ts) then treats
 * like a verified token: route auth and roles, limits, field authorization, identity headers.
 * Upstreams receive its access token as `Authorization: Bearer`; the cookie itself is removed
 * from what is forwarded. Cookie-authenticated unsafe requests (a GraphQL mutation, a passthrough
 * POST/PUT/PATCH/DELETE) must carry `csrfHeader`, else 403 CSRF_REQUIRED.
 */
import { getOperationAST, GraphQLError } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { OidcConfig } from '../config/oidc-schema.js';
import type { RedisConfig } from '../config/schema.js';
import { StateKey, type RequestContext } from '../context.js';
import { BadRequest, CsrfRequired, LoginFailed, MethodNotAllowed, SessionExpired, Unauthenticated, isGatewayError, type GatewayError } from '../errors.js';
import { createRedis } from '../redis/client.js';
import { OidcProvider, ProviderRefused } from '../auth/oidc/provider.js';
import { normalizeReturnTo } from '../auth/oidc/return-to.js';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from '../auth/oidc/session-store.js';
import { SessionManager, type SessionRecord } from '../auth/oidc/sessions.js';
import type { Logger } from '../telemetry/logger.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useOidcSession}. */
export interface OidcSessionOptions {
  /** The `auth.oidc` section. */
  oidc: OidcConfig;
  /** The `redis` section, for `session.store: redis`. @default none */
  redis?: RedisConfig;
  /** A store to use instead of the configured one (tests that share one between gateways). @default from config */
  store?: SessionStore;
  logger?: Logger;
}

/** The request is cookie-authenticated and lacks the CSRF header: a mutation must be refused. */
const CSRF_MISSING = new StateKey<true>('oidc.csrfMissing');
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Session ids are 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const NO_STORE = { 'cache-control': 'no-store' };

export function useOidcSession(opts: OidcSessionOptions): GatewayPlugin & { readonly sessions: SessionManager } {
  const cfg = opts.oidc;
  const cookieName = cfg.cookie.secure ? `__Host-${cfg.cookie.name}` : cfg.cookie.name;
  const cookieAttrs = `; Path=/; HttpOnly; SameSite=${cfg.cookie.sameSite === 'strict' ? 'Strict' : 'Lax'}${cfg.cookie.secure ? '; Secure' : ''}`;
  const clearCookie = `${cookieName}=${cookieAttrs}; Max-Age=0`;
  const csrfHeader = cfg.csrfHeader.toLowerCase();
  const allowed = new Set(cfg.allowedReturnToOrigins);
  const store = opts.store ?? (cfg.session.store === 'redis' ? new RedisSessionStore(createRedis(opts.redis!, { failFast: true, commandTimeoutMs: 1000 }), opts.redis!.keyPrefix, cfg.sessionSecret) : new MemorySessionStore(cfg.session.maxBytes, cfg.loginMaxPending));
  const provider = new OidcProvider(cfg);
  const sessions = new SessionManager(cfg, store, provider);
  const prefix = cfg.pathPrefix;

  function sessionId(ctx: RequestContext): string | undefined {
    const header = ctx.req.headers.cookie;
    if (header === undefined || !header.includes(cookieName)) return undefined;
    let id: string | undefined;
    const kept: string[] = [];
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      const name = part.slice(0, eq).trim();
      if (eq !== -1 && name === cookieName) {
        const v = part.slice(eq + 1).trim();
        // Two session cookies have two readings (a cookie planted on a sibling path or domain): neither is used.
        id = id === undefined ? v : '';
      } else if (part.trim()) kept.push(part.trim());
    }
    // The session id is the gateway's: upstreams get the access token, never the cookie.
    if (kept.length) ctx.req.headers.cookie = kept.join('; ');
    else delete ctx.req.headers.cookie;
    return id !== undefined && SESSION_ID.test(id) ? id : undefined;
  }

  function redirect(ctx: RequestContext, location: string, setCookie?: string): void {
    const headers: Record<string, string> = { ...NO_STORE, location, 'content-length': '0' };
    if (setCookie) headers['set-cookie'] = setCookie;
    ctx.res.writeHead(302, headers);
    ctx.res.end();
  }

  function json(ctx: RequestContext, status: number, value: unknown, setCookie?: string): void {
    const body = JSON.stringify(value);
    const headers: Record<string, string | number> = { ...NO_STORE, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) };
    if (setCookie) headers['set-cookie'] = setCookie;
    ctx.res.writeHead(status, headers);
    ctx.res.end(body);
  }

  function query(ctx: RequestContext): URLSearchParams {
    return new URLSearchParams(ctx.query);
  }

  async function login(ctx: RequestContext): Promise<void> {
    if (ctx.method !== 'GET') throw MethodNotAllowed(ctx.method).withHeaders({ Allow: 'GET' });
    const q = query(ctx);
    if (q.getAll('returnTo').length > 1) throw BadRequest('more than one returnTo');
    const returnTo = normalizeReturnTo(q.get('returnTo') ?? undefined, allowed);
    if (returnTo === undefined) throw BadRequest('returnTo must be a path on this gateway or a URL on auth.oidc.allowedReturnToOrigins');
    const { url, pending } = await provider.authorizationUrl(returnTo);
    await sessions.addPending(pending);
    redirect(ctx, url.href);
  }

  async function callback(ctx: RequestContext): Promise<void> {
    if (ctx.method !== 'GET') throw MethodNotAllowed(ctx.method).withHeaders({ Allow: 'GET' });
    const q = query(ctx);
    const state = q.get('state');
    if (!state || q.getAll('state').length > 1) throw LoginFailed('the callback has no (single) state');
    // Taken before anything else: a state is spent even when the rest of the callback fails.
    const pending = await sessions.takePending(state);
    if (!pending) throw LoginFailed('unknown, expired or already used state');
    if (q.has('error')) throw LoginFailed(`the provider answered ${q.get('error')}`);
    const current = new URL(cfg.redirectUri);
    current.search = ctx.query ? `?${ctx.query}` : '';
    let started;
    try {
      started = await sessions.create(await provider.exchange(current, pending));
    } catch (err) {
      if (err instanceof ProviderRefused) throw LoginFailed(err.message);
      throw err;
    }
    // A new id at every login: an id planted before the login (fixation) never becomes a session.
    const old = sessionId(ctx);
    if (old) await sessions.revoke(old);
    redirect(ctx, pending.returnTo, `${cookieName}=${started.id}${cookieAttrs}; Max-Age=${cfg.session.absoluteTimeoutSec}`);
  }

  async function sessionInfo(ctx: RequestContext): Promise<void> {
    if (ctx.method !== 'GET') throw MethodNotAllowed(ctx.method).withHeaders({ Allow: 'GET' });
    const id = sessionId(ctx);
    const record = id ? await sessions.load(id) : undefined;
    if (!record) throw Unauthenticated('no session');
    json(ctx, 200, {
      sub: record.sub,
      roles: record.roles,
      claims: record.claims,
      expiresAt: new Date(sessions.expiresAt(record)).toISOString(),
      accessTokenExpiresAt: new Date(record.accessExpiresAt).toISOString(),
    });
  }

  async function logout(ctx: RequestContext): Promise<void> {
    if (ctx.method !== 'POST') throw MethodNotAllowed(ctx.method).withHeaders({ Allow: 'POST' });
    if (!ctx.req.headers[csrfHeader]) throw CsrfRequired('logout', cfg.csrfHeader);
    const id = sessionId(ctx);
    const record = id ? await sessions.load(id) : undefined;
    if (id) await sessions.revoke(id);
    const end = await provider.endSessionUrl(record?.idToken).catch(() => undefined);
    const to = end?.href ?? cfg.postLogoutRedirectUri ?? '/';
    if ((ctx.req.headers.accept ?? '').includes('application/json')) return json(ctx, 200, { loggedOut: true, redirectTo: to }, clearCookie);
    ctx.res.writeHead(303, { ...NO_STORE, location: to, 'set-cookie': clearCookie, 'content-length': '0' });
    ctx.res.end();
  }

  function asIdentity(ctx: RequestContext, r: SessionRecord): void {
    ctx.identity = { kind: 'session', subject: r.sub, roles: r.roles, clientId: r.sub, claims: r.claims, accessToken: r.accessToken };
  }

  async function fromCookie(ctx: RequestContext, id: string): Promise<void> {
    const loaded = await sessions.load(id);
    if (!loaded) {
      // A dead cookie (logged out, expired, stolen and revoked) is no identity; the browser drops it.
      ctx.res.setHeader('set-cookie', clearCookie);
      return;
    }
    let record: SessionRecord;
    try {
      record = await sessions.fresh(id, loaded);
    } catch (err) {
      if (isGatewayError(err) && err.code === SessionExpired.code) (err as GatewayError).withHeaders({ 'set-cookie': clearCookie });
      throw err;
    }
    if (!SAFE_METHODS.has(ctx.method) && !ctx.req.headers[csrfHeader]) {
      const t = ctx.target;
      if (t.kind === 'route') throw CsrfRequired(`${ctx.method} request`, cfg.csrfHeader);
      if (t.kind === 'graphql') ctx.set(CSRF_MISSING, true);
    }
    asIdentity(ctx, record);
  }

  // Mutations are known only once the document is parsed: both GraphQL paths run this hook.
  const csrfCheck: YogaPlugin = {
    onExecute({ args, setResultAndStopExecution }) {
      const gw = (args.contextValue as { gw?: RequestContext }).gw;
      if (!gw?.get(CSRF_MISSING)) return;
      const op = getOperationAST(args.document, args.operationName ?? undefined);
      if (op?.operation !== 'mutation') return;
      const err = CsrfRequired('mutation', cfg.csrfHeader);
      gw.errorCode ??= err.code;
      setResultAndStopExecution({ errors: [new GraphQLError(err.message, { extensions: { code: err.code, http: { status: err.status } } })] });
    },
  };

  return {
    name: 'oidc-session',
    sessions,
    yogaPlugins: [csrfCheck],
    endpoints: {
      [`${prefix}/login`]: login,
      [`${prefix}/callback`]: callback,
      [`${prefix}/session`]: sessionInfo,
      [`${prefix}/logout`]: logout,
    },
    onRequest(ctx) {
      const t = ctx.target.kind;
      if (t === 'internal' || t === 'none' || t === 'method-not-allowed') return;
      // Read (and so removed from what is forwarded) even when a bearer token is sent too.
      const id = sessionId(ctx);
      // An explicit bearer token wins over the cookie (a non-browser client of the same origin).
      if (id === undefined || ctx.req.headers.authorization !== undefined) return;
      return fromCookie(ctx, id);
    },
    close() {
      return sessions.close();
    },
  };
}
