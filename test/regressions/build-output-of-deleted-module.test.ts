/**
 * Regression: after a resolver module was deleted (the shop's users resolvers became bindings), an
 * existing checkout's dist/ kept its compiled output; tsc only adds and overwrites, the build stamp
 * was newer than every remaining source, so `gateway start` ran the build and loaded the deleted
 * resolvers, which answered in place of the bindings. A built module without its source now makes
 * the build stale, and the build removes such outputs.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module of bin/, without type declarations
import { buildIsFresh, orphanedOutputs, removeOrphanedOutputs } from '../../bin/freshness.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function project(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'gw-build-orphans-'));
  roots.push(root);
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  // The stamp is newer than every source, as after a build.
  const later = new Date(Date.now() + 60_000);
  writeFileSync(join(root, 'dist/.build-stamp'), 'x');
  utimesSync(join(root, 'dist/.build-stamp'), later, later);
  return root;
}

const BUILT = ['src/cli.ts', 'dist/src/cli.js', 'dist/src/cli.js.map', 'resolvers/orders.ts', 'dist/resolvers/orders.js', 'upstreams/a/a.proto', 'dist/upstreams/a/a.proto'];

describe('outputs of deleted sources', () => {
  it('a complete build is fresh and has no orphans', () => {
    const root = project(BUILT);
    expect(orphanedOutputs(root)).toEqual([]);
    expect(buildIsFresh(root)).toBe(true);
  });

  it.each([
    [['dist/resolvers/users.js', 'dist/resolvers/users.js.map'], 'a deleted resolver'],
    [['dist/upstreams/users/loaders.js'], 'a deleted loader'],
    [['dist/upstreams/b/b.proto'], 'a deleted proto'],
    [['dist/src/old.d.ts'], 'a deleted engine module (declarations)'],
  ])('%j (%s): the build is stale, and the build step removes exactly those files', (orphans) => {
    const root = project([...BUILT, ...orphans]);
    expect(orphanedOutputs(root).map((f: string) => f.slice(root.length + 1)).sort()).toEqual([...orphans].sort());
    expect(buildIsFresh(root)).toBe(false);
    expect(removeOrphanedOutputs(root)).toBe(orphans.length);
    for (const f of orphans) expect(existsSync(join(root, f))).toBe(false);
    for (const f of BUILT) expect(existsSync(join(root, f))).toBe(true);
    expect(buildIsFresh(root)).toBe(true);
  });
});
