/**
 * Static cost of a GraphQL operation, estimated before execution (demand control in the manner
 * of Apollo Router's static estimation and the IBM cost specification):
 *
 * - A field's weight is `graphql.fieldCosts["Type.field"]`, else its `@cost(weight:)` directive,
 *   else 1 for a field returning an object, interface or union and 0 for a scalar or enum.
 * - A field's cost is `size × (weight + cost of its selections)`, where `size` is 1 for a
 *   single value and, for a list, the value of a slicing argument (`first`, `last`, `limit`,
 *   `take`, `pageSize`, `count`), else the length of its longest list argument (`ids: [...]`),
 *   else {@link DEFAULT_LIST_SIZE}. Variables are read from the request; argument defaults apply.
 * - Inline fragments and fragment spreads add their selections (an upper bound for abstract
 *   types). Each fragment is costed once and memoised; a cycle is cut where it closes.
 * - Introspection (`__schema`, `__type`, `__typename`) costs nothing here: it reaches no upstream,
 *   and its size is bounded by the introspection limits of operation-shape.ts instead.
 */
import {
  Kind, getNamedType, getNullableType, isCompositeType, isInterfaceType, isListType, isObjectType,
  type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLField, type GraphQLNamedType,
  type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode, type ValueNode,
} from 'graphql';
import { ConfigError } from '../config/load.js';

/** Assumed length of a list field that has no size argument. */
export const DEFAULT_LIST_SIZE = 10;

const SLICING_ARGS = new Set(['first', 'last', 'limit', 'take', 'pageSize', 'count']);

/** Type name → field name → weight, for fields whose weight is not the default. */
export type CostTable = Map<string, Map<string, number>>;

/**
 * Builds the weight table from `@cost` directives and `graphql.fieldCosts` (which wins).
 * An unknown `Type.field` in the config is a config error naming its key path.
 */
export function buildCostTable(schema: GraphQLSchema, fieldCosts: Record<string, number>): CostTable {
  const table: CostTable = new Map();
  const set = (type: string, field: string, weight: number) => {
    let fields = table.get(type);
    if (!fields) table.set(type, (fields = new Map()));
    fields.set(field, weight);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if ((!isObjectType(type) && !isInterfaceType(type)) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const dir = field.astNode?.directives?.find((d) => d.name.value === 'cost');
      const v = dir?.arguments?.find((a) => a.name.value === 'weight')?.value;
      if (v?.kind === Kind.INT) set(type.name, field.name, Number(v.value));
    }
  }
  const problems: Array<{ path: string; message: string }> = [];
  for (const [coordinate, weight] of Object.entries(fieldCosts)) {
    const m = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(coordinate);
    const type = m ? schema.getType(m[1]!) : undefined;
    if (!m) problems.push({ path: `graphql.fieldCosts.${coordinate}`, message: 'must be Type.field' });
    else if (!(isObjectType(type) || isInterfaceType(type)) || !type.getFields()[m[2]!]) {
      problems.push({ path: `graphql.fieldCosts.${coordinate}`, message: `${coordinate} is not a field of the composed schema` });
    } else set(m[1]!, m[2]!, weight);
  }
  if (problems.length) throw new ConfigError(problems);
  return table;
}

function listLength(value: ValueNode, variables: Record<string, unknown> | undefined): number | undefined {
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const v = variables?.[value.name.value];
    return Array.isArray(v) ? v.length : v === undefined || v === null ? undefined : 1;
  }
  return value.kind === Kind.NULL ? undefined : 1;
}

function intValue(value: ValueNode, variables: Record<string, unknown> | undefined): number | undefined {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const v = variables?.[value.name.value];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  }
  return undefined;
}

/** How many items a list field is expected to return. */
function listSize(node: FieldNode, def: GraphQLField<unknown, unknown>, variables: Record<string, unknown> | undefined): number {
  let slice: number | undefined;
  let longest: number | undefined;
  for (const arg of def.args) {
    const given = node.arguments?.find((a) => a.name.value === arg.name)?.value;
    if (SLICING_ARGS.has(arg.name)) {
      const n = given ? intValue(given, variables) : typeof arg.defaultValue === 'number' ? arg.defaultValue : undefined;
      if (n !== undefined) slice = Math.max(slice ?? 0, n);
    } else if (isListType(getNullableType(arg.type))) {
      const n = given ? listLength(given, variables) : Array.isArray(arg.defaultValue) ? arg.defaultValue.length : undefined;
      if (n !== undefined) longest = Math.max(longest ?? 0, n);
    }
  }
  return Math.max(0, slice ?? longest ?? DEFAULT_LIST_SIZE);
}

class CostWalker {
  readonly #schema: GraphQLSchema;
  readonly #table: CostTable;
  readonly #variables: Record<string, unknown> | undefined;
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #memo = new Map<string, number>();
  readonly #active = new Set<string>();

  constructor(schema: GraphQLSchema, table: CostTable, doc: DocumentNode, variables: Record<string, unknown> | undefined) {
    this.#schema = schema;
    this.#table = table;
    this.#variables = variables;
    for (const def of doc.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(def.name.value, def);
  }

  selectionSet(set: SelectionSetNode, parent: GraphQLNamedType | undefined): number {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) total += this.field(sel, parent);
      else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? this.#schema.getType(sel.typeCondition.name.value) : parent;
        total += this.selectionSet(sel.selectionSet, cond);
      } else total += this.fragment(sel.name.value);
    }
    return total;
  }

  field(node: FieldNode, parent: GraphQLNamedType | undefined): number {
    const name = node.name.value;
    if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) return 0;
    const def = parent.getFields()[name];
    if (!def) return 0;
    const named = getNamedType(def.type);
    const weight = this.#table.get(parent.name)?.get(name) ?? (isCompositeType(named) ? 1 : 0);
    const children = node.selectionSet ? this.selectionSet(node.selectionSet, named) : 0;
    const size = isListType(getNullableType(def.type)) ? listSize(node, def, this.#variables) : 1;
    return size * (weight + children);
  }

  fragment(name: string): number {
    const known = this.#memo.get(name);
    if (known !== undefined) return known;
    const def = this.#fragments.get(name);
    if (!def || this.#active.has(name)) return 0;
    this.#active.add(name);
    const cost = this.selectionSet(def.selectionSet, this.#schema.getType(def.typeCondition.name.value));
    this.#active.delete(name);
    this.#memo.set(name, cost);
    return cost;
  }
}

/** Estimated cost of one operation of `doc`. */
export function estimateOperationCost(
  schema: GraphQLSchema,
  table: CostTable,
  doc: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): number {
  const root = operation.operation === 'query'
    ? schema.getQueryType()
    : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return new CostWalker(schema, table, doc, variables).selectionSet(operation.selectionSet, root ?? undefined);
}
