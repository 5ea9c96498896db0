/**
 * The SDL an importer prints: a small model of what it generates (root fields with a binding
 * directive, object, input and enum types, and `# import:` notes), and its printer.
 *
 * The printer writes every name as the importer chose it (already a GraphQL name, see
 * names.ts), every string through JSON escaping (a JSON string literal is a GraphQL one:
 * spec §2.9.4 has the same escapes), and every comment on one line without control
 * characters, so no text from the imported file can end a comment or a string early.
 * The command parses the printed text with graphql's `parse` before writing it out.
 */

export interface TypeRef {
  /** A named type, or absent for a list. */
  name?: string;
  /** The element type of a list. */
  of?: TypeRef;
  nonNull: boolean;
}

export const named = (name: string, nonNull = false): TypeRef => ({ name, nonNull });
export const listOf = (of: TypeRef, nonNull = false): TypeRef => ({ of, nonNull });
export const required = (t: TypeRef): TypeRef => ({ ...t, nonNull: true });

export function printTypeRef(t: TypeRef): string {
  const inner = t.of ? `[${printTypeRef(t.of)}]` : t.name!;
  return t.nonNull ? `${inner}!` : inner;
}

export interface SdlArg {
  name: string;
  type: TypeRef;
}

export interface Binding {
  directive: 'http' | 'grpc';
  /** Arguments in print order; a list prints as a list of strings. */
  args: Array<[string, string | string[]]>;
  /** Comment lines printed inside the directive's parentheses (a commented-out `batch:` hint). */
  hints: string[];
}

export interface SdlField {
  name: string;
  type: TypeRef;
  args: SdlArg[];
  description?: string;
  /** `# import:` lines printed above the field. */
  notes: string[];
  binding?: Binding;
}

export interface SdlType {
  kind: 'type' | 'input';
  name: string;
  description?: string;
  /** `# import:` lines printed at the top of the block. */
  notes: string[];
  fields: SdlField[];
}

export interface SdlEnum {
  name: string;
  description?: string;
  values: string[];
}

export interface SdlDocument {
  header: string[];
  /** `# import:` lines for what was left out as a whole (an operation, an rpc). */
  skipped: string[];
  query: SdlField[];
  mutation: SdlField[];
  types: SdlType[];
  enums: SdlEnum[];
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]+/g;
const MAX_TEXT = 300;

/** One line of text from the imported file, fit for a comment or a description. */
export function oneLine(s: string, max = MAX_TEXT): string {
  const flat = s.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A GraphQL string literal. */
export const stringLiteral = (s: string): string => JSON.stringify(s.replace(LONE_SURROGATE, '\uFFFD'));

const comment = (indent: string, text: string): string => `${indent}# ${oneLine(text, 2000)}`;

function printBinding(b: Binding, indent: string): string[] {
  const args = b.args.map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.map(stringLiteral).join(', ')}]` : stringLiteral(v)}`).join(', ');
  if (b.hints.length === 0) return [`${indent}@${b.directive}(${args})`];
  return [`${indent}@${b.directive}(${args}`, ...b.hints.map((h) => comment(`${indent}  `, h)), `${indent})`];
}

function printField(f: SdlField, out: string[]): void {
  if (f.description) out.push(`  ${stringLiteral(oneLine(f.description))}`);
  for (const n of f.notes) out.push(comment('  ', `import: ${n}`));
  const args = f.args.length ? `(${f.args.map((a) => `${a.name}: ${printTypeRef(a.type)}`).join(', ')})` : '';
  out.push(`  ${f.name}${args}: ${printTypeRef(f.type)}`);
  if (f.binding) out.push(...printBinding(f.binding, '    '));
}

function printBlock(keyword: string, name: string, description: string | undefined, notes: string[], fields: SdlField[], out: string[]): void {
  out.push('');
  if (description) out.push(stringLiteral(oneLine(description)));
  out.push(`${keyword} ${name} {`);
  for (const n of notes) out.push(comment('  ', `import: ${n}`));
  for (const f of fields) printField(f, out);
  out.push('}');
}

/** The document as SDL text, ending in a newline. */
export function printDocument(doc: SdlDocument): string {
  const out: string[] = doc.header.map((h) => comment('', h));
  for (const s of doc.skipped) out.push(comment('', `import: skipped ${s}`));
  if (doc.query.length) printBlock('type', 'Query', undefined, [], doc.query, out);
  if (doc.mutation.length) printBlock('type', 'Mutation', undefined, [], doc.mutation, out);
  for (const t of doc.types) printBlock(t.kind, t.name, t.description, t.notes, t.fields, out);
  for (const e of doc.enums) {
    out.push('');
    if (e.description) out.push(stringLiteral(oneLine(e.description)));
    out.push(`enum ${e.name} {`, ...e.values.map((v) => `  ${v}`), '}');
  }
  return `${out.join('\n')}\n`;
}
