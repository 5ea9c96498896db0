#!/usr/bin/env node
// The `gateway` command. It runs the compiled build (dist/, made by `npm run build`, which `npm ci`
// runs) when that build is as new as the sources. After an edit, in a checkout with the development
// dependencies, it runs the TypeScript sources through tsx instead, so an edited resolver takes
// effect on the next start without a build step; `npm run build` makes it fast again.
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from './freshness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let useSources = !buildIsFresh(root);
if (useSources) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    // Production install without tsx: the build is what there is.
    useSources = false;
  }
}
const { main } = await import(useSources ? '../src/cli.ts' : '../dist/src/cli.js');
process.exitCode = await main(process.argv.slice(2));
