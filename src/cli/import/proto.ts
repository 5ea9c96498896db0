/**
 * `gateway import proto`: the rpcs of a .proto file as root fields bound with `@grpc`
 * (docs/import.md has the rules).
 *
 * The file and its imports are parsed with protobufjs, each import looked up relative to the
 * importing file's folder, then the first file's, then each `--proto-path`; google/protobuf/* comes bundled with
 * protobufjs. Only relative paths below those folders are read, each file and all of them
 * together bounded in size. Field names are protobufjs's camelCase, the names the gateway's
 * gRPC client (proto-loader, keepCase false) reads and writes.
 *
 * An rpc whose name starts with Get, List, Search or BatchGet (followed by a capital, a digit
 * or nothing) is a Query field, every other one a Mutation field. Streaming rpcs are skipped.
 */
import { dirname, isAbsolute, join, normalize, basename } from 'node:path';
import { existsSync } from 'node:fs';
import protobuf from 'protobufjs';
import { NameScope, PROTO_SCALARS, fieldName, isEnumValueName, typeName } from './names.js';
import { listOf, named, type Binding, type SdlArg, type SdlDocument, type SdlField, type SdlType, type TypeRef } from './sdl.js';
import { ImportError, MAX_IMPORT_BYTES, readBounded } from './source.js';

/** At most this many files (the proto and everything it imports). */
const MAX_FILES = 100;
/** Types are built at most this many messages deep (a longer chain of distinct messages is left out, noted). */
const MAX_DEPTH = 32;

export const QUERY_RPC = /^(?:Get|List|Search|BatchGet)(?=[A-Z0-9_]|$)/;

export interface ProtoImportOptions {
  label: string;
  upstream: string;
  /** rpc names (`GetProducts`, `Catalog/GetProducts`, `catalog.v1.Catalog/GetProducts`) or field names; all when absent. */
  only?: string[];
  /** More folders to look up imports in, after the importing file's and the first file's (protoc's -I). */
  protoPath?: string[];
}

/** Parses `file` and its imports into one resolved root. */
export function loadProto(file: string, includeDirs: readonly string[] = []): protobuf.Root {
  const root = new protobuf.Root();
  const baseDir = dirname(file);
  const seen = new Set<string>();
  const queue: string[] = [file];
  let budget = MAX_IMPORT_BYTES;
  while (queue.length > 0) {
    const f = queue.shift()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (seen.size > MAX_FILES) throw new ImportError(`${basename(file)}: more than ${MAX_FILES} proto files imported`);
    const text = readBounded(f, budget);
    budget -= Buffer.byteLength(text);
    let parsed: protobuf.IParserResult;
    try {
      // protobufjs names the file in its syntax errors from this (undeclared) property.
      (protobuf.parse as unknown as { filename: string }).filename = basename(f);
      parsed = protobuf.parse(text, root, { keepCase: false, alternateCommentMode: true });
    } catch (err) {
      throw new ImportError(`${basename(f)}: not a valid proto file: ${(err as Error).message}`);
    }
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const bundled = imp.lastIndexOf('google/protobuf/');
      const common = bundled >= 0 ? protobuf.common.get(imp.slice(bundled)) : null;
      if (common) {
        if (!seen.has(imp.slice(bundled))) {
          seen.add(imp.slice(bundled));
          root.addJSON((common as { nested: Record<string, protobuf.AnyNestedObject> }).nested);
        }
        continue;
      }
      const rel = normalize(imp);
      if (isAbsolute(imp) || rel.startsWith('..')) throw new ImportError(`${basename(f)}: import "${imp}": only paths below the proto's folder are read`);
      const found = [dirname(f), baseDir, ...includeDirs].map((d) => join(d, rel)).find((p) => existsSync(p));
      if (!found) throw new ImportError(`${basename(f)}: import "${imp}" not found next to it, next to ${basename(file)}${includeDirs.length ? ' or in a --proto-path' : ' (add its root with --proto-path)'}`);
      queue.push(found);
    }
  }
  try {
    root.resolveAll();
  } catch (err) {
    throw new ImportError(`${basename(file)}: ${(err as Error).message}`);
  }
  return root;
}

function services(ns: protobuf.NamespaceBase, out: protobuf.Service[] = []): protobuf.Service[] {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Service) out.push(n);
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) services(n, out);
  }
  return out;
}

const fullName = (o: protobuf.ReflectionObject): string => o.fullName.replace(/^\./, '');

/** A message or enum name with its enclosing messages (`Outer.Inner` → `OuterInner`), without the package. */
function localName(o: protobuf.ReflectionObject): string {
  const parts = [o.name];
  for (let p = o.parent; p instanceof protobuf.Type; p = p.parent) parts.unshift(p.name);
  return typeName(parts.join('_'));
}

type Mode = 'output' | 'input';

class ProtoImporter {
  constructor(private readonly upstream: string) {}

  readonly doc: SdlDocument = { header: [], skipped: [], query: [], mutation: [], types: [], enums: [] };
  private readonly types = NameScope.forTypes();
  private readonly objects = { output: new Map<protobuf.Type, string | null>(), input: new Map<protobuf.Type, string | null>() };
  private readonly enums = new Map<protobuf.Enum, string | null>();
  readonly renames = new Map<string, string[]>();

  private enumType(e: protobuf.Enum): string | undefined {
    const seen = this.enums.get(e);
    if (seen !== undefined) return seen ?? undefined;
    const values = Object.keys(e.values);
    if (!values.every(isEnumValueName)) {
      this.enums.set(e, null);
      return undefined;
    }
    const name = this.types.take(localName(e));
    this.enums.set(e, name);
    this.doc.enums.push({ name, values });
    return name;
  }

  /** The GraphQL type of one field (without its nullability), or why it has none. */
  fieldType(f: protobuf.Field, mode: Mode, depth = 0): TypeRef | string {
    if (f.map) return 'a map field has no GraphQL type';
    let inner: string | undefined;
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Enum) {
      inner = this.enumType(rt);
      if (!inner) return `the values of enum ${fullName(rt)} are not all GraphQL enum names`;
    } else if (rt instanceof protobuf.Type) {
      if (depth >= MAX_DEPTH) return `messages nest deeper than ${MAX_DEPTH} levels here`;
      inner = this.objectType(rt, mode, depth + 1);
      if (!inner) return `message ${fullName(rt)} has no fields`;
    } else {
      inner = PROTO_SCALARS[f.type];
      if (!inner) return `type ${f.type} is unknown`;
    }
    const scalarOrEnum = !(rt instanceof protobuf.Type);
    if (f.repeated) return listOf(named(inner, true), mode === 'output');
    // proto3 fills absent scalars and enums with their defaults (the client asks for defaults);
    // messages and oneof members stay absent. Inputs are all optional but proto2's required.
    const nonNull = mode === 'output' ? scalarOrEnum && !f.partOf : f.required;
    return named(inner, nonNull);
  }

  objectType(t: protobuf.Type, mode: Mode, depth = 0): string | undefined {
    const memo = this.objects[mode];
    const seen = memo.get(t);
    if (seen !== undefined) return seen ?? undefined;
    if (t.fieldsArray.length === 0) {
      memo.set(t, null);
      return undefined;
    }
    const name = this.types.take(localName(t) + (mode === 'input' ? 'Input' : ''));
    memo.set(t, name);
    const st: SdlType = { kind: mode === 'input' ? 'input' : 'type', name, notes: [], fields: [] };
    this.doc.types.push(st);
    const scope = new NameScope();
    const renames: string[] = [];
    for (const f of t.fieldsArray) {
      const ft = this.fieldType(f, mode, depth);
      if (typeof ft === 'string') {
        st.notes.push(`skipped ${f.name} because ${ft}`);
        continue;
      }
      const fname = scope.take(fieldName(f.name));
      if (fname !== f.name) renames.push(`${fname}: ${f.name}`);
      st.fields.push({ name: fname, type: ft, args: [], notes: noteFor(f) });
    }
    if (renames.length) {
      this.renames.set(name, renames);
      st.notes.push(`named differently in the message: ${renames.join(', ')}`);
    }
    if (st.fields.length === 0) st.fields.push({ name: '_empty', type: named('Boolean'), args: [], notes: ['no field had a GraphQL type'] });
    return name;
  }

  importMethod(svc: protobuf.Service, m: protobuf.Method, field: string, qualify: boolean): SdlField | string {
    if (m.requestStream || m.responseStream) return `it streams (${m.requestStream ? 'request' : 'response'}); a binding makes one unary call`;
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    const notes: string[] = [];
    const args: SdlArg[] = [];
    const argScope = new NameScope();
    const template: string[] = [];
    let batchField: { name: string; arg: string } | undefined;
    for (const f of req.fieldsArray) {
      const ft = this.fieldType(f, 'input');
      if (typeof ft === 'string') {
        notes.push(`skipped request field ${f.name} because ${ft}`);
        continue;
      }
      const arg = argScope.take(fieldName(f.name));
      args.push({ name: arg, type: ft });
      notes.push(...noteFor(f).map((n) => `${arg}: ${n}`));
      template.push(`${JSON.stringify(f.name)}: "$args.${arg}"`);
      if (f.repeated && (f.type === 'string' || PROTO_SCALARS[f.type] === 'Int') && /^ids$|Ids$/.test(f.name)) batchField = { name: f.name, arg };
    }
    const b: Binding = { directive: 'grpc', args: [['upstream', this.upstream]], hints: [] };
    b.args.push(['method', qualify ? `${fullName(svc)}/${m.name}` : m.name]);
    if (template.length) b.args.push(['request', `{ ${template.join(', ')} }`]);

    let type: TypeRef;
    const out = this.objectType(res, 'output');
    if (out) {
      type = named(out);
      const renames = this.renames.get(out);
      if (renames) b.args.push(['map', renames]);
    } else {
      type = named('Boolean');
      notes.push(`${fullName(res)} has no fields: the type is a placeholder`);
    }
    if (batchField) {
      const lists = res.fieldsArray.filter((f) => f.repeated && f.resolvedType instanceof protobuf.Type);
      const singular = batchField.name === 'ids' ? 'id' : batchField.name.replace(/Ids$/, 'Id');
      const item = lists.length === 1 ? (lists[0]!.resolvedType as protobuf.Type) : undefined;
      const matchOn = item?.fieldsArray.find((f) => f.name === singular) ?? item?.fieldsArray.find((f) => f.name === 'id');
      if (item && matchOn) {
        b.hints.push(`import: ${batchField.name} is a list of keys and ${lists[0]!.name} a list of items with ${matchOn.name}: to batch, type the field [${this.objects.output.get(item) ?? localName(item)}], drop ${batchField.name} from request and uncomment`);
        b.hints.push(`batch: { form: REQUEST_FIELD, param: ${JSON.stringify(batchField.name)}, key: "$args.${batchField.arg}", matchOn: ${JSON.stringify(matchOn.name)} }, select: ${JSON.stringify(lists[0]!.name)}`);
      }
    }
    const f: SdlField = { name: field, type, args, notes, binding: b };
    if (m.comment) f.description = m.comment;
    return f;
  }
}

function noteFor(f: protobuf.Field): string[] {
  const t = PROTO_SCALARS[f.type];
  if (t === 'String' && f.type !== 'string') return [f.type === 'bytes' ? 'bytes: base64 text' : `${f.type}: wider than GraphQL Int, typed String`];
  return [];
}

/** The SDL document for the chosen rpcs of the proto at `file`. */
export function importProto(file: string, opts: ProtoImportOptions): SdlDocument {
  const root = loadProto(file, opts.protoPath);
  const svcs = services(root).sort((a, b) => fullName(a).localeCompare(fullName(b)));
  if (svcs.length === 0) throw new ImportError(`${opts.label}: no service in it`);
  const qualify = svcs.length > 1;
  const names = new NameScope();
  const all = svcs.flatMap((svc) => svc.methodsArray.map((m) => ({ svc, m, field: names.take(fieldName(m.name)) })));
  let chosen = all;
  if (opts.only) {
    const matches = (x: (typeof all)[number], w: string): boolean => [x.m.name, `${x.svc.name}/${x.m.name}`, `${fullName(x.svc)}/${x.m.name}`, x.field].includes(w);
    const unknown = opts.only.filter((w) => !all.some((x) => matches(x, w)));
    if (unknown.length) throw new ImportError(`${opts.label}: no rpc ${unknown.map((u) => JSON.stringify(u)).join(', ')}; it has ${all.slice(0, 20).map((x) => x.m.name).join(', ')}${all.length > 20 ? ', …' : ''}`);
    chosen = all.filter((x) => opts.only!.some((w) => matches(x, w)));
  }
  const imp = new ProtoImporter(opts.upstream);
  imp.doc.header.push(
    `Imported by \`gateway import proto\` from ${opts.label}: ${svcs.map(fullName).join(', ')}.`,
    'A starting point: check names, nullability and bindings before adding it to schema/.',
    'Get…, List…, Search… and BatchGet… rpcs are Query fields, the others Mutation fields.',
    `Upstream ${JSON.stringify(opts.upstream)}: a grpc upstream in the config whose proto is this file.`,
  );
  for (const { svc, m, field } of chosen) {
    const r = imp.importMethod(svc, m, field, qualify);
    if (typeof r === 'string') {
      imp.doc.skipped.push(`${fullName(svc)}/${m.name} because ${r}`);
      continue;
    }
    (QUERY_RPC.test(m.name) ? imp.doc.query : imp.doc.mutation).push(r);
  }
  return imp.doc;
}
