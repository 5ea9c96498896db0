/**
 * A private copy of the fixture domain (test/fixtures/domain/) under test/fixtures/.tmp-*, for tests
 * that change the schema. It sits at the same depth as the original, so its relative imports hold.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_DIR } from '../fixtures/domain/index.js';
import { ROOT } from './cli.js';

export interface ProjectCopy {
  dir: string;
  schemaDir: string;
  resolversDir: string;
  upstreamsDir: string;
  /** Rewrites one schema file with `edit(text)`. */
  editSchema(file: string, edit: (text: string) => string): void;
  /** Rewrites one resolver module with `edit(text)`. */
  editResolvers(file: string, edit: (text: string) => string): void;
  remove(): void;
}

export function copyProject(): ProjectCopy {
  const dir = mkdtempSync(join(ROOT, 'test', 'fixtures', '.tmp-domain-'));
  cpSync(FIXTURE_DIR, dir, { recursive: true });
  const schemaDir = join(dir, 'schema');
  const resolversDir = join(dir, 'resolvers');
  const edit = (folder: string) => (file: string, change: (text: string) => string) => {
    const p = join(folder, file);
    writeFileSync(p, change(readFileSync(p, 'utf8')));
  };
  return {
    dir,
    schemaDir,
    resolversDir,
    upstreamsDir: join(dir, 'upstreams'),
    editSchema: edit(schemaDir),
    editResolvers: edit(resolversDir),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
