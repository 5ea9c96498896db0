/**
 * The whole browser-session flow in a real browser (headless Chromium, Debian's `chromium`,
 * driven by playwright-core) against a real OpenID Provider: the gateway's login redirects to
 * the provider's login form, the form is filled and submitted, the callback sets the HttpOnly
 * cookie and lands on `returnTo`; a GraphQL query with the cookie, a mutation refused without
 * the CSRF header and accepted with it, then logout (to the provider's end_session page), after
 * which the cookie is gone and the session with it.
 *
 * Without a Chromium the test skips loudly; on CI (CI=true) a missing Chromium is an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, hasChromium, requireChromium } from './helpers/chromium.js';
import type { RunningGateway } from '../src/index.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestProvider, type TestProvider } from './helpers/oidc-provider.js';
import { freePort, oidcConfig, startOidcGateway } from './helpers/oidc-gateway.js';

requireChromium('OIDC browser test');

describe.skipIf(!hasChromium)('OIDC login in headless Chromium', () => {
  let provider: TestProvider;
  let demo: FixtureUpstreams;
  let gw: RunningGateway;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    [provider, demo, browser] = await Promise.all([
      startTestProvider({ redirectUri: () => [`${url}/auth/callback`], postLogoutRedirectUris: [`${url}/`] }),
      startFixtureUpstreams(),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS }),
    ]);
    gw = await startOidcGateway({ port, demo, configure: (c) => (c.auth = { oidc: oidcConfig(provider, url) }) });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await Promise.all([provider?.close(), demo?.close()]);
  });

  it('logs in at the provider form, queries and mutates with the cookie, and logs out', async () => {
    provider.autoLogin = undefined;
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${url}/auth/login?returnTo=${encodeURIComponent('/auth/session')}`);
      // The provider's own login form.
      expect(page.url().startsWith(`${provider.issuer}/interaction/`)).toBe(true);
      await page.fill('#login', '5');
      await Promise.all([page.waitForURL(`${url}/auth/session`), page.click('#sign-in')]);
      const who = JSON.parse(await page.innerText('body'));
      expect(who).toMatchObject({ sub: '5', claims: { name: 'User 5' } });

      const cookies = await context.cookies(url);
      const session = cookies.find((c) => c.name === 'gw_session')!;
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
      // Scripts cannot read it.
      expect(await page.evaluate(() => document.cookie)).not.toContain('gw_session');

      const gql = (query: string, headers: Record<string, string> = {}) =>
        page.evaluate(
          async ([q, h]) => {
            const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: JSON.stringify({ query: q }) });
            return { status: r.status, body: await r.json() };
          },
          [query, headers] as const,
        );
      const q = await gql('{ me { id name } }');
      expect(q.status).toBe(200);
      expect(q.body.data.me.id).toBe('5');

      const m = 'mutation { createUser(input: { name: "Browser", email: "browser@example.test" }) { id name } }';
      const refused = await gql(m);
      expect(refused.status).toBe(403);
      expect(refused.body.errors[0].extensions.code).toBe('CSRF_REQUIRED');
      const created = await gql(m, { 'X-CSRF': '1' });
      expect(created.status).toBe(200);
      expect(created.body.data.createUser.name).toBe('Browser');
      expect(demo.users.recorder.calls.filter((c) => c.method === 'POST' && c.path === '/users')).toHaveLength(1);

      const out = await page.evaluate(async () => {
        const r = await fetch('/auth/logout', { method: 'POST', headers: { 'X-CSRF': '1', accept: 'application/json' } });
        return { status: r.status, body: await r.json() };
      });
      expect(out.status).toBe(200);
      expect(out.body.redirectTo.startsWith(`${provider.issuer}/session/end`)).toBe(true);
      const end = await page.goto(out.body.redirectTo);
      expect(end?.status()).toBe(200);
      expect((await context.cookies(url)).some((c) => c.name === 'gw_session')).toBe(false);
      // The old cookie, replayed by someone who copied it, is worth nothing.
      const replay = await fetch(`${url}/auth/session`, { headers: { cookie: `gw_session=${session.value}` } });
      expect(replay.status).toBe(401);
    } finally {
      await context.close();
    }
  }, 60_000);
});
