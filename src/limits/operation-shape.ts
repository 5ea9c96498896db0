/**
 * The shape of a GraphQL document, measured on the syntax tree alone so it can run before
 * validation (a hostile document should not get to cost validation time).
 *
 * - Depth: a root field is depth 1; `{ user { orders { id } } }` is depth 3. Fragments count
 *   where they are spread. Inside introspection every level counts too, except `ofType`: the
 *   TypeRef chain of GraphiQL's query is 8 `ofType` levels deep, and an `ofType` past the real
 *   wrapping of a type answers null, so that chain cannot multiply output.
 * - Aliases: every aliased field, introspection included, counted once per place its fragment
 *   is spread.
 * - Directives: every directive on a field, fragment spread or inline fragment, counted once per
 *   place it is expanded (graphql-armor's max-directives rule counts the same thing, but only
 *   during validation, which is what a directive bomb makes slow).
 * - Introspection: how many `__schema` / `__type` fields the operation selects (each one can
 *   answer the whole schema), how deep introspection list fields (`types`, `fields`, `args`, …)
 *   nest, and whether one of them is aliased (each alias repeats that list). The standard
 *   introspection query (graphql-js `getIntrospectionQuery`) nests lists 3 deep
 *   (`types > fields > args`) and aliases none.
 * - Every operation of the document is measured; the largest values are reported.
 * - Each fragment is measured once and memoised, so documents that spread fragments many times
 *   ("fragment bombs") cost linear time; a fragment cycle (which validation rejects later) is
 *   cut where it closes instead of recursing for ever.
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

export interface OperationShape {
  depth: number;
  aliases: number;
  directives: number;
  /** `__schema` and `__type` fields selected, fragments expanded. */
  introspectionFields: number;
  /** Deepest nesting of introspection list fields. */
  introspectionListDepth: number;
  /** Some introspection list field is aliased. */
  introspectionListAliased: boolean;
}

/** Introspection list nesting the standard introspection query needs (`types > fields > args`). */
export const INTROSPECTION_LIST_DEPTH = 3;

/** Fields of the introspection types that return lists: the ones that multiply output. */
const INTROSPECTION_LISTS = new Set(['types', 'directives', 'fields', 'args', 'interfaces', 'possibleTypes', 'enumValues', 'inputFields']);

const ZERO: OperationShape = {
  depth: 0, aliases: 0, directives: 0, introspectionFields: 0, introspectionListDepth: 0, introspectionListAliased: false,
};

function add(into: OperationShape, m: OperationShape): void {
  if (m.depth > into.depth) into.depth = m.depth;
  if (m.introspectionListDepth > into.introspectionListDepth) into.introspectionListDepth = m.introspectionListDepth;
  into.aliases += m.aliases;
  into.directives += m.directives;
  into.introspectionFields += m.introspectionFields;
  into.introspectionListAliased ||= m.introspectionListAliased;
}

class ShapeWalker {
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  /** Keyed by introspection context and name: the same fragment measures differently in each. */
  readonly #memo = new Map<string, OperationShape>();
  readonly #active = new Set<string>();

  constructor(doc: DocumentNode) {
    for (const def of doc.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(def.name.value, def);
  }

  /** `inside`: the selection set belongs to an introspection type (under `__schema` / `__type`). */
  selectionSet(set: SelectionSetNode, inside: boolean): OperationShape {
    const out = { ...ZERO };
    for (const sel of set.selections) {
      const own = sel.directives?.length ?? 0;
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        const entry = name === '__schema' || name === '__type';
        const introspective = inside || entry;
        const sub = sel.selectionSet ? this.selectionSet(sel.selectionSet, introspective) : ZERO;
        const isList = inside && INTROSPECTION_LISTS.has(name);
        add(out, {
          depth: sub.depth + (inside && name === 'ofType' ? 0 : 1),
          aliases: sub.aliases + (sel.alias ? 1 : 0),
          directives: sub.directives + own,
          introspectionFields: sub.introspectionFields + (entry ? 1 : 0),
          introspectionListDepth: sub.introspectionListDepth + (isList ? 1 : 0),
          introspectionListAliased: sub.introspectionListAliased || (isList && sel.alias !== undefined),
        });
      } else {
        const m = sel.kind === Kind.INLINE_FRAGMENT ? this.selectionSet(sel.selectionSet, inside) : this.fragment(sel.name.value, inside);
        add(out, { ...m, directives: m.directives + own });
      }
    }
    return out;
  }

  fragment(name: string, inside: boolean): OperationShape {
    const key = `${inside ? 1 : 0}${name}`;
    const known = this.#memo.get(key);
    if (known) return known;
    const def = this.#fragments.get(name);
    if (!def || this.#active.has(key)) return ZERO;
    this.#active.add(key);
    const m = this.selectionSet(def.selectionSet, inside);
    this.#active.delete(key);
    m.directives += def.directives?.length ?? 0;
    this.#memo.set(key, m);
    return m;
  }
}

/** Largest measures over the document's operations. */
export function measureOperationShape(doc: DocumentNode): OperationShape {
  const walker = new ShapeWalker(doc);
  const out = { ...ZERO };
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const m = walker.selectionSet(def.selectionSet, false);
    m.directives += def.directives?.length ?? 0;
    out.depth = Math.max(out.depth, m.depth);
    out.aliases = Math.max(out.aliases, m.aliases);
    out.directives = Math.max(out.directives, m.directives);
    out.introspectionFields = Math.max(out.introspectionFields, m.introspectionFields);
    out.introspectionListDepth = Math.max(out.introspectionListDepth, m.introspectionListDepth);
    out.introspectionListAliased ||= m.introspectionListAliased;
  }
  return out;
}
