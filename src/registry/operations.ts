/**
 * Client operations (a `.graphql` file, or a folder of them searched recursively) validated
 * against a schema, so a check names each operation a change would break.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Kind, NoUnusedFragmentsRule, parse, specifiedRules, validate, type GraphQLSchema, type DefinitionNode, type DocumentNode } from 'graphql';

/** Each operation is validated with the file's fragments; those it does not use are not an error. */
const RULES = specifiedRules.filter((r) => r !== NoUnusedFragmentsRule);

export interface BrokenOperation {
  file: string;
  operation: string;
  errors: string[];
}

function files(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    const p = join(path, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(graphql|gql)$/.test(name)) out.push(p);
  }
  return out;
}

export function checkOperations(schema: GraphQLSchema, path: string, root = process.cwd()): { checked: number; broken: BrokenOperation[] } {
  const broken: BrokenOperation[] = [];
  let checked = 0;
  for (const file of files(path)) {
    const shown = relative(root, file) || file;
    let doc: DocumentNode;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      broken.push({ file: shown, operation: '(file)', errors: [(err as Error).message] });
      continue;
    }
    const fragments = doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
    for (const def of doc.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION) continue;
      checked++;
      const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [def as DefinitionNode, ...fragments] };
      const errors = validate(schema, single, RULES).map((e) => e.message);
      if (errors.length) broken.push({ file: shown, operation: def.name?.value ?? '(anonymous)', errors });
    }
  }
  return { checked, broken };
}
