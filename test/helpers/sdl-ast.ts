/**
 * Reading printed SDL the way a person checks it: parse it with graphql, then look up a
 * type, a field, its arguments and the arguments of its binding directive.
 */
import { GraphQLInputObjectType, GraphQLObjectType, Kind, buildSchema, getNamedType, type GraphQLNamedType, parse, print, validateSchema, valueFromAST, type DocumentNode, type FieldDefinitionNode, type GraphQLSchema, type ValueNode } from 'graphql';
import { BINDING_SDL } from '../../src/graphql/bindings/declarations.js';

export function parseSdl(sdl: string): DocumentNode {
  return parse(sdl, { noLocation: true });
}

type Defined = { kind: Kind; name: { value: string }; fields?: readonly FieldDefinitionNode[] | readonly { name: { value: string } }[]; values?: readonly { name: { value: string } }[] };

export function definition(doc: DocumentNode, name: string): Defined | undefined {
  return (doc.definitions as unknown as Defined[]).find((d) => d.name?.value === name);
}

export function typeNames(doc: DocumentNode): string[] {
  return (doc.definitions as unknown as Defined[]).map((d) => d.name.value);
}

export function fieldNames(doc: DocumentNode, type: string): string[] {
  return ((definition(doc, type)?.fields ?? []) as Array<{ name: { value: string } }>).map((f) => f.name.value);
}

export function enumValues(doc: DocumentNode, type: string): string[] {
  const d = definition(doc, type);
  if (d?.kind !== Kind.ENUM_TYPE_DEFINITION) throw new Error(`${type} is not an enum`);
  return (d.values ?? []).map((v) => v.name.value);
}

export function field(doc: DocumentNode, type: string, name: string): FieldDefinitionNode {
  const f = ((definition(doc, type)?.fields ?? []) as FieldDefinitionNode[]).find((x) => x.name.value === name);
  if (!f) throw new Error(`no field ${type}.${name}`);
  return f;
}

/** `{ name: "Type!" }` for the field's arguments, or the input type's fields. */
export function argTypes(f: FieldDefinitionNode): Record<string, string> {
  return Object.fromEntries((f.arguments ?? []).map((a) => [a.name.value, print(a.type)]));
}

export function fieldTypes(doc: DocumentNode, type: string): Record<string, string> {
  return Object.fromEntries(((definition(doc, type)?.fields ?? []) as Array<{ name: { value: string }; type: Parameters<typeof print>[0] }>).map((x) => [x.name.value, print(x.type)]));
}

export const typeOf = (f: FieldDefinitionNode): string => print(f.type);

function value(v: ValueNode): unknown {
  switch (v.kind) {
    case Kind.STRING:
      return v.value;
    case Kind.LIST:
      return v.values.map(value);
    case Kind.OBJECT:
      return Object.fromEntries(v.fields.map((x) => [x.name.value, value(x.value)]));
    default:
      return print(v);
  }
}

/** The arguments of the field's `@name` directive as plain values; undefined when it has none. */
export function directiveArgs(f: FieldDefinitionNode, name: string): Record<string, unknown> | undefined {
  const d = f.directives?.find((x) => x.name.value === name);
  if (!d) return undefined;
  return Object.fromEntries((d.arguments ?? []).map((a) => [a.name.value, value(a.value)]));
}

// The engine's own declarations: what `gateway import` prints must compose against them.
const BINDING_DIRECTIVES = BINDING_SDL;

/**
 * The problems of `sdl` as a schema next to the binding directives' declarations: unknown or
 * missing directive arguments, argument values of the wrong type, undefined types, input types
 * used as output and the reverse. With `uncommentHints`, every `# batch:` hint is uncommented first.
 */
export function bindingProblems(sdl: string, opts: { uncommentHints?: boolean } = {}): string[] {
  let text = opts.uncommentHints ? sdl.replace(/^(\s*)# (batch: )/gm, '$1$2') : sdl;
  // Printed SDL joins a schema that has a Query type; one with only Mutation fields needs it here.
  if (!/^type Query \{/m.test(text)) text += '\ntype Query { placeholder: Boolean }\n';
  let schema: GraphQLSchema;
  try {
    schema = buildSchema(`${BINDING_DIRECTIVES}\n${text}`);
  } catch (err) {
    return [(err as Error).message];
  }
  const problems = validateSchema(schema).map((e) => e.message);
  // Directive argument values are not checked by buildSchema: coerce each against its declared type.
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType)) continue;
    for (const f of Object.values(type.getFields())) {
      for (const node of f.astNode?.directives ?? []) {
        const decl = schema.getDirective(node.name.value);
        for (const arg of node.arguments ?? []) {
          const declArg = decl?.args.find((a) => a.name === arg.name.value);
          if (declArg && valueFromAST(arg.value, declArg.type) === undefined) problems.push(`${type.name}.${f.name} @${node.name.value}(${arg.name.value}:) is not a ${String(declArg.type)}`);
        }
      }
    }
  }
  return problems;
}

/** Types the SDL defines that no root field reaches through field types, arguments and input fields. */
export function unreachableTypes(sdl: string): string[] {
  const schema = buildSchema(sdl.includes('type Query {') ? sdl : `${sdl}\ntype Query { placeholder: Boolean }\n`, { assumeValidSDL: true });
  const seen = new Set<string>();
  const visit = (t: GraphQLNamedType): void => {
    if (seen.has(t.name)) return;
    seen.add(t.name);
    if (t instanceof GraphQLObjectType) {
      for (const f of Object.values(t.getFields())) {
        visit(getNamedType(f.type));
        for (const a of f.args) visit(getNamedType(a.type));
      }
    } else if (t instanceof GraphQLInputObjectType) {
      for (const f of Object.values(t.getFields())) visit(getNamedType(f.type));
    }
  };
  for (const root of [schema.getQueryType(), schema.getMutationType()]) if (root) visit(root);
  return Object.keys(schema.getTypeMap()).filter((n) => !n.startsWith('__') && !seen.has(n) && !['String', 'Int', 'Float', 'Boolean', 'ID'].includes(n));
}
