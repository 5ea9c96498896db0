/**
 * `auth.oidc` (browser sessions: OpenID Connect login, cookie sessions, refresh, CSRF) and
 * `auth.introspection` (RFC 7662 for opaque bearer tokens). Kept apart from schema.ts, which
 * composes them into `auth`. Every key is documented in docs/configuration.md and docs/sessions.md.
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

/** `scheme://host[:port]` and nothing else: what a browser's Origin header carries. */
const origin = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === v;
  } catch {
    return false;
  }
}, 'must be an origin: scheme://host[:port], no path or trailing slash');

const pathPrefix = z.string().regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a path such as /auth (segments of letters, digits, ._~-; no trailing slash)');
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');

export const oidcSchema = z
  .strictObject({
    /** Issuer URL; its `/.well-known/openid-configuration` is fetched at start-up (lazily, retried). */
    issuer: httpUrl,
    clientId: z.string().min(1),
    /** client_secret_basic; give this or `privateKey`. */
    clientSecret: optionalString,
    /** private_key_jwt: PKCS#8 PEM private key signing the client assertion. */
    privateKey: optionalString,
    /** JWS algorithm of the client assertion. @default RS256 */
    privateKeyAlg: z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']).default('RS256'),
    /** `kid` header of the client assertion. */
    privateKeyKid: optionalString,
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope is visible ASCII without " or \\')).default(['openid', 'profile', 'email']).refine((s) => s.includes('openid'), 'must include openid'),
    /** Where the provider sends the browser back: its path must be `<pathPrefix>/callback`. */
    redirectUri: httpUrl,
    /** Where the provider sends the browser after logout (RP-initiated logout). */
    postLogoutRedirectUri: httpUrl.optional(),
    pathPrefix: pathPrefix.default('/auth'),
    /** Origins besides relative paths that `returnTo` may name (same-site SPA origins). */
    allowedReturnToOrigins: z.array(origin).default([]),
    cookie: z
      .strictObject({
        /** Cookie name; with `secure` it gets the `__Host-` prefix. @default gw_session */
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64').default('gw_session'),
        /** Secure cookie (https only). Turn off for local http only. @default true */
        secure: z.boolean().default(true),
        sameSite: z.enum(['lax', 'strict']).default('lax'),
      })
      .default({ name: 'gw_session', secure: true, sameSite: 'lax' }),
    session: z
      .strictObject({
        /** memory: one process; redis: shared by every instance (needs the `redis` section). */
        store: z.enum(['memory', 'redis']).default('memory'),
        idleTimeoutSec: positiveInt.default(1800),
        absoluteTimeoutSec: positiveInt.default(43_200),
        /** Memory store: session records kept, in bytes (each charged its JSON size and 200). */
        maxBytes: positiveInt.default(16 * 1024 * 1024),
      })
      .default({ store: 'memory', idleTimeoutSec: 1800, absoluteTimeoutSec: 43_200, maxBytes: 16 * 1024 * 1024 }),
    /** Refresh the access token this many seconds before it expires. */
    refreshSkewSec: nonNegativeInt.default(30),
    /** Key material for sealing session records (AES-256-GCM); at least 32 characters, from the environment. */
    sessionSecret: z.string().min(32, 'must be at least 32 characters (use ${SESSION_SECRET})'),
    /** ID-token claims the session endpoint shows the browser. */
    exposedClaims: z.array(z.string().min(1)).default(['sub', 'name', 'email']),
    /** ID-token claim holding the roles. */
    rolesClaim: z.string().default('roles'),
    /** Header a cookie-authenticated unsafe request must carry (any non-empty value). */
    csrfHeader: headerName.default('X-CSRF'),
    /** Pending logins (between login and callback): lifetime and most kept. */
    loginTtlSec: positiveInt.max(3600).default(600),
    loginMaxPending: positiveInt.default(10_000),
    /** Time limit of each call to the provider (discovery, token, refresh). */
    timeoutMs: positiveInt.default(5000),
  })
  .superRefine((o, ctx) => {
    if ((o.clientSecret === undefined) === (o.privateKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'give exactly one of clientSecret and privateKey' });
    }
    if (new URL(o.redirectUri).pathname !== `${o.pathPrefix}/callback`) {
      ctx.addIssue({ code: 'custom', path: ['redirectUri'], message: `its path must be ${o.pathPrefix}/callback (pathPrefix + /callback)` });
    }
    if (o.session.idleTimeoutSec > o.session.absoluteTimeoutSec) {
      ctx.addIssue({ code: 'custom', path: ['session', 'idleTimeoutSec'], message: 'must not exceed absoluteTimeoutSec' });
    }
  });

export const introspectionSchema = z.strictObject({
  /** The provider's RFC 7662 introspection endpoint. */
  endpoint: httpUrl,
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Longest an answer is reused; never past half the token's remaining life. */
  cacheTtlSec: positiveInt.default(60),
  cacheMaxEntries: nonNegativeInt.default(10_000),
  /** Claim of the introspection answer holding the roles (a list, or a space-separated string such as `scope`). */
  rolesClaim: z.string().default('roles'),
  timeoutMs: positiveInt.default(2000),
  breaker: z
    .strictObject({
      /** Consecutive failures (errors, timeouts, 5xx) that open the breaker. */
      failureThreshold: positiveInt.default(5),
      /** How long it stays open before one trial call. */
      openMs: positiveInt.default(30_000),
    })
    .default({ failureThreshold: 5, openMs: 30_000 }),
});

export type OidcConfig = z.output<typeof oidcSchema>;
export type IntrospectionConfig = z.output<typeof introspectionSchema>;
