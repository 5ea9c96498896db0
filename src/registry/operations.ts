/**
 * Client operations — `.graphql` files, a folder of them (searched recursively), or a
 * persisted-operations JSON map (id/hash → document) — validated against a schema, so a check
 * names each operation a change would break, and tells which breaking changes no listed
 * operation uses.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  Kind, NoUnusedFragmentsRule, TypeInfo, parse, specifiedRules, validate, visit, visitWithTypeInfo,
  type DefinitionNode, type DocumentNode, type GraphQLSchema,
} from 'graphql';

/** Each operation is validated with the file's fragments; those it does not use are not an error. */
const RULES = specifiedRules.filter((r) => r !== NoUnusedFragmentsRule);

export interface ClientOperation {
  file: string;
  name: string;
  /** The operation plus the fragments of its file. */
  document: DocumentNode;
}

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
    else if (/\.(graphql|gql)$/.test(name) || name.endsWith('.json')) out.push(p);
  }
  return out;
}

function split(doc: DocumentNode, file: string, fallbackName?: string): ClientOperation[] {
  const fragments = doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  const out: ClientOperation[] = [];
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    out.push({ file, name: def.name?.value ?? fallbackName ?? '(anonymous)', document: { kind: Kind.DOCUMENT, definitions: [def as DefinitionNode, ...fragments] } });
  }
  return out;
}

/** Loads operations; unparsable files are returned as broken right away. */
export function loadOperations(path: string, root = process.cwd()): { operations: ClientOperation[]; unreadable: BrokenOperation[] } {
  const operations: ClientOperation[] = [];
  const unreadable: BrokenOperation[] = [];
  for (const file of files(path)) {
    const shown = relative(root, file) || file;
    const text = readFileSync(file, 'utf8');
    try {
      if (file.endsWith('.json')) {
        const map = JSON.parse(text) as Record<string, unknown>;
        for (const [id, doc] of Object.entries(map)) {
          if (typeof doc === 'string') operations.push(...split(parse(doc), shown, id));
        }
      } else {
        operations.push(...split(parse(text), shown));
      }
    } catch (err) {
      unreadable.push({ file: shown, operation: '(file)', errors: [(err as Error).message.split('\n')[0]!] });
    }
  }
  return { operations, unreadable };
}

export function validateOperations(schema: GraphQLSchema, ops: ClientOperation[]): BrokenOperation[] {
  const broken: BrokenOperation[] = [];
  for (const op of ops) {
    const errors = validate(schema, op.document, RULES).map((e) => e.message);
    if (errors.length) broken.push({ file: op.file, operation: op.name, errors });
  }
  return broken;
}

/** Schema coordinates (`Type.field`, `Type.field.arg`) each operation touches, read against `schema`. */
export function usage(schema: GraphQLSchema, ops: ClientOperation[]): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (coord: string, op: string) => {
    const list = used.get(coord);
    if (!list) used.set(coord, [op]);
    else if (!list.includes(op)) list.push(op);
  };
  for (const op of ops) {
    const info = new TypeInfo(schema);
    visit(
      op.document,
      visitWithTypeInfo(info, {
        Field() {
          const parent = info.getParentType();
          const def = info.getFieldDef();
          if (parent && def) add(`${parent.name}.${def.name}`, op.name);
        },
        Argument() {
          const parent = info.getParentType();
          const def = info.getFieldDef();
          const arg = info.getArgument();
          if (parent && def && arg) add(`${parent.name}.${def.name}.${arg.name}`, op.name);
        },
        NamedType(node) {
          add(node.name.value, op.name);
        },
      }),
    );
  }
  return used;
}
