#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` builds): compiles the engine and the domain's code
// (src/, resolvers/, upstreams/) to dist/ with tsc, copies the .proto files the compiled modules
// read beside them, and stamps the build so bin/gateway.js can tell a build older than its sources.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_DIRS, STAMP, listFiles, removeOrphanedOutputs } from './freshness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.error('build: typescript is not installed (it is a development dependency: run npm ci without --omit=dev)');
  process.exit(1);
}
const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);
for (const dir of SOURCE_DIRS) {
  for (const file of listFiles(join(root, dir), '.proto')) {
    const target = join(root, 'dist', relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
}
// tsc only adds and overwrites: outputs of deleted sources would stay and still be loaded.
removeOrphanedOutputs(root);
writeFileSync(join(root, STAMP), `${new Date().toISOString()}\n`);
