/**
 * Gateways with `auth.oidc` in front of the fixture domain and a real OpenID Provider
 * (./oidc-provider.ts). The gateway's port is chosen before it starts, because the provider must
 * know the redirect URI; `login` walks the whole authorization-code flow over HTTP (the provider's
 * login finishing at once for the given user) and returns the session cookie.
 */
import { createServer, type Server } from 'node:net';
import { startGateway, type RunningGateway } from '../../src/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, type FixtureUpstreams } from '../fixtures/domain/index.js';
import { baseConfig, configFrom } from './gateway.js';
import type { TestProvider } from './oidc-provider.js';

export const SESSION_SECRET = 'test-session-secret-0123456789-abcdefghij';
export const APP_ORIGIN = 'https://app.example.test';

/** `n` distinct ports free right now (the gateway binds them next; the provider needs the redirect URI first). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

export function oidcConfig(provider: TestProvider, gatewayUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    redirectUri: `${gatewayUrl}/auth/callback`,
    postLogoutRedirectUri: `${gatewayUrl}/`,
    allowedReturnToOrigins: [APP_ORIGIN],
    cookie: { secure: false },
    sessionSecret: SESSION_SECRET,
    exposedClaims: ['sub', 'name', 'email'],
    refreshSkewSec: 10,
    ...extra,
  };
}

export async function startOidcGateway(opts: { port: number; demo: FixtureUpstreams; configure: (c: Record<string, any>) => void }): Promise<RunningGateway> {
  const raw = baseConfig();
  raw.server.port = opts.port;
  raw.routes = [{ name: 'users-api', match: { pathPrefix: '/api/users', methods: ['GET', 'POST'] }, upstream: 'users', rewrite: { stripPrefix: '/api' }, auth: 'jwt' }];
  opts.configure(raw);
  return startGateway({
    config: configFrom(raw),
    schemaDir: FIXTURE_SCHEMA_DIR,
    resolversDir: FIXTURE_RESOLVERS_DIR,
    demoTargets: opts.demo.targets,
    port: opts.port,
    host: '127.0.0.1',
    logger: createLogger({ level: 'silent' }),
  });
}

export interface LoginResult {
  /** `name=value` of the session cookie. */
  cookie: string;
  /** The full Set-Cookie the callback sent. */
  setCookie: string;
  /** Where the callback sent the browser. */
  location: string;
  /** The callback URL the provider sent the browser to (for replay tests). */
  callbackUrl: string;
}

/** Follows the provider's redirects with a cookie jar until it sends the browser back to the gateway. */
export async function toCallback(provider: TestProvider, gatewayUrl: string, authorizeUrl: string): Promise<string> {
  const jar = new Map<string, string>();
  let loc = authorizeUrl;
  for (let i = 0; i < 10 && !loc.startsWith(gatewayUrl); i++) {
    const r = await fetch(loc, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const next = r.headers.get('location');
    if (!next) throw new Error(`provider stopped at ${loc} with ${r.status}: ${(await r.text()).slice(0, 200)}`);
    loc = new URL(next, loc).href;
  }
  return loc;
}

export async function login(provider: TestProvider, gatewayUrl: string, sub: string, opts: { returnTo?: string; cookie?: string } = {}): Promise<LoginResult> {
  provider.autoLogin = sub;
  const q = opts.returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(opts.returnTo)}`;
  const start = await fetch(`${gatewayUrl}/auth/login${q}`, { redirect: 'manual' });
  if (start.status !== 302) throw new Error(`login answered ${start.status}: ${await start.text()}`);
  const callbackUrl = await toCallback(provider, gatewayUrl, start.headers.get('location')!);
  const done = await fetch(callbackUrl, { redirect: 'manual', headers: opts.cookie ? { cookie: opts.cookie } : {} });
  if (done.status !== 302) throw new Error(`callback answered ${done.status}: ${await done.text()}`);
  const setCookie = done.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, setCookie, location: done.headers.get('location')!, callbackUrl };
}

/** POSTs a GraphQL operation with the session cookie (and any extra headers). */
export async function gqlWith(gatewayUrl: string, cookie: string, query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', cookie, ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: r.status, body: await r.json() };
}
