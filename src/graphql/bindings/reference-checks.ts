/**
 * What composition checks of one template reference: that it can be read where it is written
 * (an argument of the field, a field of the parent type or one it carries), and its GraphQL type
 * when the schema says it (for batch keys).
 */
import {
  GraphQLList, GraphQLNonNull, GraphQLString, getNullableType, isInputObjectType, isInterfaceType, isObjectType,
  type GraphQLField, type GraphQLInputType, type GraphQLObjectType, type GraphQLOutputType,
} from 'graphql';
import type { Ref } from './template.js';

/** Why a reference cannot be read here, or undefined. */
export function refProblem(ref: Ref, field: GraphQLField<unknown, unknown>, parent: GraphQLObjectType, parentFields: ReadonlySet<string>): string | undefined {
  if (ref.source === 'args') {
    const arg = field.args.find((a) => a.name === ref.path[0]);
    if (!arg) return `${ref.text}: ${parent.name}.${field.name} has no argument "${ref.path[0]}"${field.args.length ? ` (arguments: ${field.args.map((a) => a.name).join(', ')})` : ''}`;
    let t: GraphQLInputType = arg.type;
    for (const seg of ref.path.slice(1)) {
      const n = getNullableType(t);
      if (!isInputObjectType(n)) return `${ref.text}: ${String(t)} has no field "${seg}"`;
      const f = n.getFields()[seg];
      if (!f) return `${ref.text}: ${n.name} has no field "${seg}"`;
      t = f.type;
    }
    return undefined;
  }
  if (ref.source === 'parent') {
    const first = ref.path[0]!;
    if (parentFields.has(first)) return undefined;
    let t: GraphQLOutputType | undefined;
    const f = parent.getFields()[first];
    if (!f) return `${ref.text}: ${parent.name} has no field "${first}" (list it in parentFields if the upstream object carries it without the schema showing it)`;
    t = f.type;
    for (const seg of ref.path.slice(1)) {
      const n: unknown = getNullableType(t);
      if (!isObjectType(n) && !isInterfaceType(n)) return `${ref.text}: ${String(t)} has no field "${seg}"`;
      const g: GraphQLField<unknown, unknown> | undefined = n.getFields()[seg];
      if (!g) return `${ref.text}: ${n.name} has no field "${seg}"`;
      t = g.type;
    }
    return undefined;
  }
  return undefined;
}

/** The GraphQL type of a reference, when the schema says it (undefined: not known, e.g. a claim). */
export function refType(ref: Ref, field: GraphQLField<unknown, unknown>, parent: GraphQLObjectType): GraphQLInputType | GraphQLOutputType | undefined {
  if (ref.source === 'identity') {
    if (ref.path[0] === 'roles') return new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLString)));
    return ref.path[0] === 'sub' ? GraphQLString : undefined;
  }
  let t: GraphQLInputType | GraphQLOutputType | undefined;
  if (ref.source === 'args') t = field.args.find((a) => a.name === ref.path[0])?.type;
  else t = parent.getFields()[ref.path[0]!]?.type;
  for (const seg of ref.path.slice(1)) {
    if (!t) return undefined;
    const n = getNullableType(t) as unknown;
    t = isInputObjectType(n) || isObjectType(n) || isInterfaceType(n) ? n.getFields()[seg]?.type : undefined;
  }
  return t;
}
