/**
 * OpenAPI schemas (JSON Schema, already dereferenced) to GraphQL types for `gateway import openapi`.
 *
 * - string / integer / number / boolean → String / Int / Float / Boolean (int64 → String);
 *   a string enum whose values are all GraphQL names → an enum (else its scalar, with a note);
 * - array → a list; object with properties → an object type (an input type on the way in),
 *   named after its `components.schemas` name, else after where it sits; allOf → the union of
 *   its parts' properties; `anyOf`/`oneOf` of one schema and null → that schema, nullable;
 * - required and not nullable → non-null; readOnly properties stay out of input types,
 *   writeOnly ones out of object types;
 * - a property whose name is not a GraphQL name is renamed (camelCase); the rename is
 *   recorded for the binding's `map`.
 * Whatever has no GraphQL type (free-form objects, other unions) is left out with a reason.
 * The same schema object is converted once (cycles included): the memo is by object identity.
 */
import type { Json, JsonObject } from './openapi-load.js';
import { NameScope, fieldName, isEnumValueName, openApiScalar, typeName } from './names.js';
import { listOf, named, type SdlDocument, type SdlEnum, type SdlField, type SdlType, type TypeRef } from './sdl.js';

/** Nesting deeper than this is left out (a schema nested inline this deep is not a starting point anyone edits). */
const MAX_DEPTH = 32;

export type Mode = 'output' | 'input';

export interface Converted {
  type?: TypeRef;
  /** Why there is no type, or what to know about it. */
  notes: string[];
  /** Whether the schema allows null (3.0 `nullable`, 3.1 `type: [x, "null"]`). */
  nullable: boolean;
  /** The object type the value is (or, for a list, whose elements are), if any. */
  objectType?: string;
}

const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

export class SchemaConverter {
  private readonly outputs = new Map<object, string | null>();
  private readonly inputs = new Map<object, string | null>();
  private readonly enums = new Map<object, string>();
  private readonly merged = new Map<object, JsonObject>();
  /** The property renames of each object type, as `map` entries (`graphqlName: wireName`). */
  readonly renames = new Map<string, string[]>();

  /** Type names of `components.schemas`, taken before any other so that they keep their names. */
  private readonly componentNames = new Map<object, string>();
  private readonly componentUsed = new Set<string>();

  constructor(
    private readonly doc: SdlDocument,
    private readonly types: NameScope,
    schemaNames: Map<object, string>,
  ) {
    for (const [schema, name] of schemaNames) this.componentNames.set(schema, types.take(typeName(name)));
  }

  /** Undo steps since {@link begin}: what one operation added, taken back when it is skipped after all. */
  private undo: Array<() => void> | undefined;

  /** Starts recording what conversions add (types, enums, names), until {@link commit} or {@link rollback}. */
  begin(): void {
    this.undo = [];
  }

  commit(): void {
    this.undo = undefined;
  }

  /** Takes back every type, enum and name added since {@link begin}: a skipped operation leaves no orphan types. */
  rollback(): void {
    for (const step of (this.undo ?? []).reverse()) step();
    this.undo = undefined;
  }

  private takeName(wanted: string): string {
    const name = this.types.take(wanted);
    this.undo?.push(() => this.types.release(name));
    return name;
  }

  convert(schema: Json | undefined, hint: string, mode: Mode, depth = 0): Converted {
    if (!isObject(schema)) return { notes: ['no schema'], nullable: true };
    if (depth > MAX_DEPTH) return { notes: [`nested deeper than ${MAX_DEPTH} levels`], nullable: true };
    let nullable = schema.nullable === true;

    for (const key of ['anyOf', 'oneOf'] as const) {
      const alts = schema[key];
      if (!Array.isArray(alts)) continue;
      const nonNull = alts.filter((a) => !(isObject(a) && a.type === 'null'));
      if (nonNull.length === 1 && alts.length === 2) {
        const inner = this.convert(nonNull[0], hint, mode, depth + 1);
        return { ...inner, nullable: true };
      }
      return { notes: [`${key} of ${alts.length} schemas has no GraphQL ${mode} type here (write a union or an interface by hand)`], nullable: true };
    }

    const s = Array.isArray(schema.allOf) ? this.mergeAllOf(schema) : schema;
    let type = s.type;
    if (Array.isArray(type)) {
      nullable ||= type.includes('null');
      const rest = type.filter((t) => t !== 'null');
      if (rest.length !== 1) return { notes: [`a value of ${rest.length} types (${rest.join(', ')}) has no GraphQL type`], nullable };
      type = rest[0]!;
    }
    if (type === undefined && isObject(s.properties)) type = 'object';
    if (type === undefined && s.items !== undefined) type = 'array';
    if (type === undefined && Array.isArray(s.enum) && s.enum.length > 0) type = s.enum.every((v) => typeof v === 'string') ? 'string' : undefined;

    if (type === 'array') {
      const inner = this.convert(s.items, `${hint}Item`, mode, depth + 1);
      if (!inner.type) return { notes: inner.notes.map((n) => `its items: ${n}`), nullable };
      return { type: listOf({ ...inner.type, nonNull: !inner.nullable }), notes: inner.notes, nullable, objectType: inner.objectType };
    }
    if (type === 'object') {
      const name = this.objectType(s, schema, hint, mode, depth);
      if (typeof name !== 'string') return { notes: [name.reason], nullable };
      return { type: named(name), notes: [], nullable, objectType: name };
    }
    if (typeof type !== 'string') return { notes: ['a schema without a type'], nullable };
    const scalar = openApiScalar(type, typeof s.format === 'string' ? s.format : undefined);
    if (!scalar) return { notes: [`type ${type} has no GraphQL type`], nullable };
    if (Array.isArray(s.enum) && s.enum.length > 0) {
      const values = s.enum.filter((v) => v !== null);
      if (values.every((v): v is string => typeof v === 'string' && isEnumValueName(v))) {
        return { type: named(this.enumType(schema, hint, values)), notes: [], nullable: nullable || values.length < s.enum.length };
      }
      return { type: named(scalar.scalar), notes: [`its enum values (${values.slice(0, 5).map((v) => JSON.stringify(v)).join(', ')}) are not all GraphQL enum names, so it is typed ${scalar.scalar}`], nullable };
    }
    return { type: named(scalar.scalar), notes: scalar.note ? [scalar.note] : [], nullable };
  }

  private mergeAllOf(schema: JsonObject): JsonObject {
    const seen = this.merged.get(schema);
    if (seen) return seen;
    const out: JsonObject = {};
    this.merged.set(schema, out);
    const properties: JsonObject = {};
    const required = new Set<string>();
    const parts = [schema, ...((schema.allOf as Json[]) ?? [])];
    for (const part of parts) {
      if (!isObject(part)) continue;
      const p = Array.isArray(part.allOf) && part !== schema ? this.mergeAllOf(part) : part;
      if (isObject(p.properties)) Object.assign(properties, p.properties);
      if (Array.isArray(p.required)) for (const r of p.required) if (typeof r === 'string') required.add(r);
      for (const k of ['type', 'description', 'nullable'] as const) if (p[k] !== undefined && out[k] === undefined) out[k] = p[k]!;
    }
    out.type ??= 'object';
    out.properties = properties;
    out.required = [...required];
    return out;
  }

  private enumType(schema: JsonObject, hint: string, values: string[]): string {
    const seen = this.enums.get(schema);
    if (seen) return seen;
    const name = this.componentNames.get(schema) ?? this.takeName(typeName(hint));
    this.enums.set(schema, name);
    this.undo?.push(() => this.enums.delete(schema));
    const e: SdlEnum = { name, values: [...new Set(values)] };
    if (typeof schema.description === 'string') e.description = schema.description;
    this.doc.enums.push(e);
    this.undo?.push(() => this.doc.enums.pop());
    return name;
  }

  /** The object type for `s` (the merged form of `original`), or why there is none. */
  private objectType(s: JsonObject, original: JsonObject, hint: string, mode: Mode, depth: number): string | { reason: string } {
    const memo = mode === 'output' ? this.outputs : this.inputs;
    const seen = memo.get(original);
    if (seen === null) return { reason: 'an object without properties (a free-form object has no GraphQL type)' };
    if (seen !== undefined) return seen;
    const props = isObject(s.properties) ? Object.entries(s.properties).filter(([, p]) => !(isObject(p) && p[mode === 'input' ? 'readOnly' : 'writeOnly'] === true)) : [];
    if (props.length === 0) {
      memo.set(original, null);
      this.undo?.push(() => memo.delete(original));
      return { reason: 'an object without properties (a free-form object has no GraphQL type)' };
    }
    const component = this.componentNames.get(original);
    const base = component ?? typeName(hint);
    let name: string;
    if (component && !this.componentUsed.has(component) && (mode === 'output' || component.endsWith('Input'))) {
      // A component keeps its own name for the first type made of it (an input named *Input takes it too).
      name = component;
      this.componentUsed.add(component);
      this.undo?.push(() => this.componentUsed.delete(component));
    } else {
      name = this.takeName(base + (mode === 'input' && !base.endsWith('Input') ? 'Input' : ''));
    }
    memo.set(original, name);
    this.undo?.push(() => memo.delete(original));
    const t: SdlType = { kind: mode === 'input' ? 'input' : 'type', name, notes: [], fields: [] };
    if (typeof s.description === 'string') t.description = s.description;
    this.doc.types.push(t);
    this.undo?.push(() => this.doc.types.pop());

    const required = new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : []);
    const scope = new NameScope();
    const renames: string[] = [];
    for (const [prop, ps] of props) {
      const r = this.convert(ps, `${base}${typeName(prop)}`, mode, depth + 1);
      if (!r.type) {
        t.notes.push(`skipped ${JSON.stringify(prop)} because ${r.notes.join('; ')}`);
        continue;
      }
      const fname = scope.take(fieldName(prop));
      if (fname !== prop) renames.push(`${fname}: ${prop}`);
      const f: SdlField = { name: fname, type: { ...r.type, nonNull: required.has(prop) && !r.nullable }, args: [], notes: r.notes };
      if (isObject(ps) && typeof ps.description === 'string') f.description = ps.description;
      t.fields.push(f);
    }
    if (renames.length > 0) {
      this.renames.set(name, renames);
      this.undo?.push(() => this.renames.delete(name));
      t.notes.push(
        mode === 'output'
          ? `named differently in the answer: ${renames.join(', ')} (a binding that selects ${name} gets them as map; nested, they need a resolver)`
          : `the upstream reads ${renames.map((r) => r.split(': ')[1]).join(', ')} where this input says ${renames.map((r) => r.split(': ')[0]).join(', ')}`,
      );
    }
    if (t.fields.length === 0) {
      t.fields.push({ name: '_empty', type: named('Boolean'), args: [], notes: ['no property had a GraphQL type'] });
    }
    return name;
  }
}

export { isObject };
