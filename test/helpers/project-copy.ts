/**
 * A private copy of schema/ and resolvers/ under test/.tmp-*, with the resolvers' relative
 * imports pointed back at the repository, for tests that change the schema.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface ProjectCopy {
  dir: string;
  schemaDir: string;
  resolversDir: string;
  /** Rewrites one schema file with `edit(text)`. */
  editSchema(file: string, edit: (text: string) => string): void;
  remove(): void;
}

export function copyProject(): ProjectCopy {
  const dir = mkdtempSync(join(ROOT, 'test', '.tmp-project-'));
  const schemaDir = join(dir, 'schema');
  const resolversDir = join(dir, 'resolvers');
  cpSync(join(ROOT, 'schema'), schemaDir, { recursive: true });
  cpSync(join(ROOT, 'resolvers'), resolversDir, { recursive: true });
  for (const f of readdirSync(resolversDir)) {
    const file = join(resolversDir, f);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/'\.\.\/(src|upstreams)\//g, "'../../../$1/"));
  }
  return {
    dir,
    schemaDir,
    resolversDir,
    editSchema(file, edit) {
      const p = join(schemaDir, file);
      writeFileSync(p, edit(readFileSync(p, 'utf8')));
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
