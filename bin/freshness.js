// Whether dist/ was built from the sources as they are now (shared by bin/build.js and bin/gateway.js).
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

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

/** The source a file of dist/ was made from: `dist/x/y.js` (.js.map, .d.ts) from `x/y.ts`; a copied .proto from itself. */
function sourceOf(root, builtFile) {
  const rel = relative(join(root, 'dist'), builtFile);
  if (rel.endsWith('.proto')) return join(root, rel);
  const base = rel.replace(/\.d\.ts$|\.js\.map$|\.js$/, '');
  return base === rel ? undefined : join(root, `${base}.ts`);
}

/**
 * Files of dist/ whose source is gone (a module deleted or renamed since the last build). They must
 * not stay: the gateway loads every module of a resolvers folder, so a deleted resolver's output
 * would keep answering in place of the binding that replaced it.
 */
export function orphanedOutputs(root) {
  const out = [];
  for (const dir of SOURCE_DIRS) {
    for (const ext of ['.js', '.js.map', '.d.ts', '.proto']) {
      for (const f of listFiles(join(root, 'dist', dir), ext)) {
        if (ext === '.js' && f.endsWith('.d.ts')) continue;
        const source = sourceOf(root, f);
        if (source && !existsSync(source)) out.push(f);
      }
    }
  }
  return out;
}

/** Removes what orphanedOutputs finds; returns how many files went. */
export function removeOrphanedOutputs(root) {
  const files = orphanedOutputs(root);
  for (const f of files) rmSync(f, { force: true });
  return files.length;
}

/** True when the build exists, no TypeScript source or proto is newer than it, and no built module has lost its source. */
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
  return orphanedOutputs(root).length === 0;
}
