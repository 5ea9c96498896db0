/**
 * GraphiQL in a real browser: headless Chromium (Debian's `chromium` package, driven by
 * playwright-core) opens `/graphql`, types a query into the editor, runs it with the UI's run
 * button and reads the answer from the result pane. The page must work offline: no request
 * may leave the gateway's origin (GraphiQL's scripts are served inline, not from a CDN).
 *
 * Without a Chromium the test skips loudly; on CI (CI=true) a missing Chromium is an error
 * (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  const msg = `no Chromium at ${CHROMIUM}: the GraphiQL browser test is SKIPPED`;
  if (process.env.CI === 'true') throw new Error(`${msg}, but CI=true requires it (apt-get install chromium)`);
  console.warn(`\n!!! ${msg}. Install Debian's chromium package or set CHROMIUM_PATH. !!!\n`);
}

const LAUNCH_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

describe.skipIf(!hasChromium)('GraphiQL in headless Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  beforeAll(async () => {
    gw = await startTestGateway();
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

      // The query editor is the first Monaco editor on the page; replace its default query.
      const editor = page.locator('.graphiql-query-editor .monaco-editor, .graphiql-editor .monaco-editor').first();
      await editor.waitFor({ state: 'visible', timeout: 30_000 });
      await editor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Delete');
      // insertText types the whole query at once, so the editor's bracket auto-closing cannot double anything.
      await page.keyboard.insertText('query Typed { user(id: "7") { id name } }');

      await page.locator('.graphiql-execute-button').first().click();
      const result = page.locator('.graphiql-response');
      await expect.poll(async () => (await result.innerText()).replace(/\s+/g, ' '), { timeout: 20_000 }).toContain(expected);
      const shown = (await result.innerText()).replace(/\s+/g, ' ');
      expect(shown).toContain('"id": "7"');

      // The typed operation really went through the gateway to the users upstream.
      expect(gw.demo.users.recorder.calls.some((c) => c.path === '/users/7' || c.path.startsWith('/users?ids=') || c.path === '/users')).toBe(true);
      expect(foreign).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
