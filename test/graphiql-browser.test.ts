/**
 * GraphiQL in a real browser: headless Chromium (Debian's `chromium` package, driven by
 * playwright-core) opens `/graphql`, types a query into the editor, runs it with the UI's run
 * button and reads the answer from the result pane. The page must work offline: no request
 * may leave the gateway's origin (GraphiQL's scripts are served inline, not from a CDN).
 *
 * Without a Chromium the test skips loudly; on CI (CI=true) a missing Chromium is an error
 * (`.ci/run` installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, hasChromium, requireChromium } from './helpers/chromium.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { captureLogs } from './helpers/log-capture.js';

requireChromium('GraphiQL browser test');

describe.skipIf(!hasChromium)('GraphiQL in headless Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  const logs = captureLogs();
  /** Paths of the GraphiQL assets the gateway served so far (its access log). */
  const assetRequests = () => logs.lines.filter((l) => l.msg === 'request' && String(l.path).startsWith('/graphql/graphiql/')).map((l) => l.path as string);
  beforeAll(async () => {
    gw = await startTestGateway({ logger: logs.logger, configure: (c) => (c.graphql = { graphiql: { defaultQuery: 'query OpensHere { user(id: "7") { name } }' } }) });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('types a query into the editor, runs it, and shows the upstream data in the result pane', async () => {
    const expected = (await gw.gql('{ user(id: "7") { name } }')).body.data.user.name as string;
    gw.demo.users.recorder.reset();
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(gw.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    try {
      const res = await page.goto(`${gw.url}/graphql`, { waitUntil: 'load' });
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-type']).toContain('text/html');

      // The query editor is the first Monaco editor on the page; it opens on graphql.graphiql.defaultQuery.
      const editor = page.locator('.graphiql-query-editor .monaco-editor, .graphiql-editor .monaco-editor').first();
      await editor.waitFor({ state: 'visible', timeout: 30_000 });
      await expect.poll(async () => (await editor.innerText()).replace(/\s+/g, ' '), { timeout: 10_000 }).toContain('query OpensHere');
      // Script, style and the editor's web workers came from the gateway as separate files.
      await expect.poll(() => assetRequests().map((p) => p.split('/').pop()), { timeout: 10_000 }).toEqual(expect.arrayContaining(['graphiql.js', 'graphiql.css', 'graphql.worker.js']));
      expect(Number((await res!.allHeaders())['content-length'] ?? (await res!.body()).length)).toBeLessThan(16_384);
      // The operation it opens on runs as it stands.
      const result = page.locator('.graphiql-response');
      await page.locator('.graphiql-execute-button').first().click();
      await expect.poll(async () => (await result.innerText()).replace(/\s+/g, ' '), { timeout: 20_000 }).toContain(expected);

      await editor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Delete');
      // insertText types the whole query at once, so the editor's bracket auto-closing cannot double anything.
      await page.keyboard.insertText('query Typed { user(id: "7") { id name } }');
      // GraphiQL takes in an edit after a debounce (it then mirrors it into the page URL): run only after that.
      await expect.poll(() => new URL(page.url()).searchParams.get('query'), { timeout: 10_000 }).toContain('query Typed');

      await page.locator('.graphiql-execute-button').first().click();
      await expect.poll(async () => (await result.innerText()).replace(/\s+/g, ' '), { timeout: 20_000 }).toContain(expected);
      const shown = (await result.innerText()).replace(/\s+/g, ' ');
      expect(shown).toContain('"id": "7"');

      // The typed operation really went through the gateway to the users upstream.
      expect(gw.demo.users.recorder.calls.some((c) => c.path === '/users/7' || c.path.startsWith('/users?ids=') || c.path === '/users')).toBe(true);
      expect(foreign).toEqual([]);

      // A second visit takes the assets from the browser's cache: the gateway serves none again.
      const before = assetRequests().length;
      await page.goto(`${gw.url}/graphql`, { waitUntil: 'load' });
      await editor.waitFor({ state: 'visible', timeout: 30_000 });
      expect(assetRequests().slice(before).filter((p) => !p.endsWith('.worker.js'))).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
