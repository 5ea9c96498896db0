// Whether dist/ was built from the sources as they are now (shared by bin/build.js and bin/gateway.js).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Folders compiled into dist/. */
export const SOURCE_DIRS = ['src', 'resolvers', 'upstreams'];
/** Written last by a successful build. */
export const STAMP = 'dist/.build-stamp';

/** Every file below `dir` whose name ends with `ext`. */
export function listFiles(dir, ext) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, ext));
    else if (e.name.endsWith(ext)) out.push(p);
  }
  return out;
}

/** True when the build exists and no TypeScript source or proto is newer than it. */
export function buildIsFresh(root) {
  let built;
  try {
    built = statSync(join(root, STAMP)).mtimeMs;
  } catch {
    return false;
  }
  for (const dir of SOURCE_DIRS) {
    for (const ext of ['.ts', '.proto']) {
      for (const f of listFiles(join(root, dir), ext)) if (statSync(f).mtimeMs > built) return false;
    }
  }
  return true;
}
