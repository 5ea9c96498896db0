/**
 * Checks that relate one key to another (a route's upstream must exist, HS256 needs a secret,
 * …). They run even when other parts of the file are invalid (zod skips a refinement once a
 * nested value failed, so an unknown upstream used to show only after every typo was fixed):
 * each check therefore reads a value that may be partly wrong, and says nothing about a key
 * whose own shape is already reported.
 */
import { checkJwtKeys } from './jwt-keys.js';
import { checkIndistinguishableRoutes, checkRouteMatch } from './route-overlap.js';
import { checkRouteTransforms } from './transform-checks.js';

export interface IssueSink {
  addIssue(issue: { code: 'custom'; path: Array<string | number>; message: string }): void;
}

/** Refinement options: run even after other problems, so one `config check` lists them all. */
export const EVEN_WITH_OTHER_PROBLEMS = { when: (): boolean => true } as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const GRPC_TARGET = /^(dns:|unix:)?[\w.-]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/;
const HTTP_TARGET = /^https?:\/\/[^/]+/;
const JWT_ALGORITHM = /^(?:[HRPE]S(?:256|384|512)|EdDSA)$/;

/** One upstream: each target's URL must suit the protocol. */
export function checkUpstream(u: unknown, ctx: IssueSink): void {
  if (!isObj(u)) return;
  const protocol = u.protocol ?? 'http';
  if (protocol !== 'http' && protocol !== 'grpc') return;
  list(u.targets).forEach((t, i) => {
    const url = isObj(t) ? str(t.url) : undefined;
    if (url === undefined) return;
    if (protocol === 'http') {
      if (!HTTP_TARGET.test(url) || !URL.canParse(url)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'url'], message: `must be an http(s) URL, got "${url}"` });
      else if (isObj(u.tls) && url.startsWith('http://')) ctx.addIssue({ code: 'custom', path: ['targets', i, 'url'], message: `tls is set: the target must be an https:// URL, got "${url}"` });
    } else if (!GRPC_TARGET.test(url)) {
      ctx.addIssue({ code: 'custom', path: ['targets', i, 'url'], message: `must be host:port for a gRPC target, got "${url}"` });
    }
  });
  if (isObj(u.tls) && (u.tls.cert === undefined) !== (u.tls.key === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['tls', u.tls.cert === undefined ? 'cert' : 'key'], message: 'a client certificate needs both cert and key' });
  }
}

/** One rate-limit window: `burst` is the capacity of a token bucket and means nothing elsewhere. */
export function checkWindow(w: unknown, ctx: IssueSink): void {
  if (!isObj(w)) return;
  const algorithm = w.algorithm ?? 'fixed-window';
  if (w.burst !== undefined && algorithm !== 'token-bucket' && typeof algorithm === 'string') {
    ctx.addIssue({ code: 'custom', path: ['burst'], message: `burst applies to algorithm: token-bucket only (this window is ${algorithm})` });
  }
  // Sliding windows and buckets count points × milliseconds in doubles (src/limits/algorithms.ts):
  // past 2^53 / 4 the sums stop being exact.
  const points = Math.max(num(w.points), num(w.burst));
  if ((algorithm === 'sliding-window' || algorithm === 'token-bucket') && points * num(w.durationSec) * 1000 * 4 > Number.MAX_SAFE_INTEGER) {
    ctx.addIssue({ code: 'custom', path: ['durationSec'], message: `points (or burst) × durationSec is too large to count exactly with ${algorithm}: keep it under ${Math.floor(Number.MAX_SAFE_INTEGER / 4000)}` });
  }
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** One route: exactly one of path / pathPrefix / pathRegex; a usable host; regexes that compile. */
export function checkRoute(r: unknown, ctx: IssueSink): void {
  if (!isObj(r)) return;
  if (isObj(r.match)) {
    const m = r.match;
    if ([m.path, m.pathPrefix, m.pathRegex].filter((v) => v !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['match'], message: 'set exactly one of path, pathPrefix or pathRegex' });
    }
    checkRouteMatch(m, ctx);
  }
  const pattern = isObj(r.rewrite) && isObj(r.rewrite.regex) ? str(r.rewrite.regex.pattern) : undefined;
  if (pattern !== undefined) {
    try {
      new RegExp(pattern);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['rewrite', 'regex', 'pattern'], message: `invalid regular expression: ${(err as Error).message}` });
    }
  }
  checkRouteTransforms(r, ctx);
}

/** The whole file: routes against upstreams and auth, JWT keys, CORS, Redis. */
export function checkConfig(c: unknown, ctx: IssueSink): void {
  if (!isObj(c)) return;
  const upstreams = isObj(c.upstreams) ? c.upstreams : undefined;
  const auth = isObj(c.auth) ? c.auth : {};
  const server = isObj(c.server) ? c.server : {};
  const tls = isObj(server.tls) ? server.tls : undefined;
  const clientCa = tls !== undefined && tls.clientCa !== undefined && tls.requestCert !== false;
  if (tls && tls.requestCert === true && tls.clientCa === undefined) {
    ctx.addIssue({ code: 'custom', path: ['server', 'tls', 'clientCa'], message: 'requestCert needs a clientCa bundle to verify client certificates against' });
  }
  if (tls && !clientCa && isObj(tls.clientRoles) && Object.keys(tls.clientRoles).length > 0) {
    ctx.addIssue({ code: 'custom', path: ['server', 'tls', 'clientRoles'], message: 'client certificates are not asked for: set clientCa (and leave requestCert on)' });
  }
  const names = new Set<string>();
  list(c.routes).forEach((r, i) => {
    if (!isObj(r)) return;
    const name = str(r.upstream);
    const up = upstreams && name !== undefined ? upstreams[name] : undefined;
    if (upstreams && name !== undefined && !Object.hasOwn(upstreams, name)) {
      const known = Object.keys(upstreams);
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'upstream'], message: `unknown upstream "${name}"${known.length ? ` (upstreams: ${known.join(', ')})` : ''}` });
    } else if (isObj(up)) {
      const protocol = up.protocol ?? 'http';
      if (r.grpc !== undefined && protocol === 'http') {
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'grpc'], message: `upstream "${name}" is not a grpc upstream` });
      } else if (r.grpc === undefined && protocol === 'grpc') {
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'upstream'], message: `upstream "${name}" is grpc: set routes[${i}].grpc.method` });
      }
    }
    if (r.auth === 'jwt' && !auth.jwt && !auth.oidc && !auth.introspection) ctx.addIssue({ code: 'custom', path: ['routes', i, 'auth'], message: 'auth: jwt needs an auth.jwt, auth.oidc or auth.introspection section' });
    if (r.auth === 'any' && !auth.jwt && !auth.apiKeys && !clientCa) ctx.addIssue({ code: 'custom', path: ['routes', i, 'auth'], message: 'auth: any needs auth.jwt, auth.apiKeys or server.tls.clientCa' });
    if (r.auth === 'mtls' && !clientCa) ctx.addIssue({ code: 'custom', path: ['routes', i, 'auth'], message: 'auth: mtls needs server.tls with clientCa (and requestCert not false)' });
    if (r.auth === 'apiKey' && !auth.apiKeys) ctx.addIssue({ code: 'custom', path: ['routes', i, 'auth'], message: 'auth: apiKey needs an auth.apiKeys section' });
    const routeName = str(r.name);
    if (routeName !== undefined) {
      if (names.has(routeName)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `duplicate route name "${routeName}"` });
      names.add(routeName);
    }
  });
  checkIndistinguishableRoutes(list(c.routes), ctx);
  checkJwt(auth.jwt, ctx);
  const oidcSession = isObj(auth.oidc) && isObj(auth.oidc.session) ? auth.oidc.session : undefined;
  if (oidcSession?.store === 'redis' && !isObj(c.redis)) {
    ctx.addIssue({ code: 'custom', path: ['auth', 'oidc', 'session', 'store'], message: 'store: redis needs the redis section' });
  }
  if (isObj(server.cors) && server.cors.credentials === true && list(server.cors.origins).includes('*')) {
    ctx.addIssue({ code: 'custom', path: ['server', 'cors', 'origins'], message: '"*" cannot be combined with credentials: list the allowed origins' });
  }
  if (isObj(c.redis) && !c.redis.url && !c.redis.cluster && !c.redis.sentinel) {
    ctx.addIssue({ code: 'custom', path: ['redis'], message: 'set url, cluster or sentinel' });
  }
}

function checkJwt(jwt: unknown, ctx: IssueSink): void {
  if (!isObj(jwt)) return;
  // A misspelt algorithm is reported by the schema; the key checks look at the valid ones.
  const algorithms = list(jwt.algorithms).filter((a): a is string => typeof a === 'string' && JWT_ALGORITHM.test(a));
  if (!algorithms.length) return;
  const secret = str(jwt.secret) || undefined;
  const publicKey = str(jwt.publicKey) || undefined;
  const hs = algorithms.some((a) => a.startsWith('HS'));
  const asym = algorithms.some((a) => !a.startsWith('HS'));
  if (hs && !secret) ctx.addIssue({ code: 'custom', path: ['auth', 'jwt', 'secret'], message: 'HS* algorithms need a secret' });
  if (asym && !publicKey && !jwt.jwksUrl) ctx.addIssue({ code: 'custom', path: ['auth', 'jwt'], message: 'asymmetric algorithms need publicKey or jwksUrl' });
  for (const p of checkJwtKeys(algorithms as Parameters<typeof checkJwtKeys>[0], secret, publicKey)) ctx.addIssue({ code: 'custom', path: ['auth', 'jwt', p.key], message: p.message });
}
