/**
 * Debian's Chromium for the browser tests (driven by playwright-core). Without it a browser test
 * skips loudly; on CI (CI=true) a missing Chromium is an error (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export const LAUNCH_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Says loudly that `what` is skipped without a Chromium; throws on CI. */
export function requireChromium(what: string): void {
  if (hasChromium) return;
  const msg = `no Chromium at ${CHROMIUM}: the ${what} is SKIPPED`;
  if (process.env.CI === 'true') throw new Error(`${msg}, but CI=true requires it (apt-get install chromium)`);
  console.warn(`\n!!! ${msg}. Install Debian's chromium package or set CHROMIUM_PATH. !!!\n`);
}
