/**
 * Depth and alias count of a GraphQL document, measured on the syntax tree alone so it can run
 * before validation (a hostile document should not get to cost validation time).
 *
 * - Depth: a root field is depth 1; `{ user { orders { id } } }` is depth 3. Fragments count
 *   where they are spread. The introspection entry points (`__schema`, `__type`) are not
 *   counted: GraphiQL's own introspection query is about 13 levels deep and reaches no upstream.
 * - Aliases: every aliased field, counted once per place its fragment is spread.
 * - Every operation of the document is measured; the largest values are reported.
 * - Each fragment is measured once and memoised, so documents that spread fragments many times
 *   ("fragment bombs") cost linear time; a fragment cycle (which validation rejects later) is
 *   cut where it closes instead of recursing for ever.
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

export interface OperationShape {
  depth: number;
  aliases: number;
}

interface Measure {
  depth: number;
  aliases: number;
}

const ZERO: Measure = { depth: 0, aliases: 0 };

class ShapeWalker {
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #memo = new Map<string, Measure>();
  readonly #active = new Set<string>();

  constructor(doc: DocumentNode) {
    for (const def of doc.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(def.name.value, def);
  }

  selectionSet(set: SelectionSetNode): Measure {
    let depth = 0;
    let aliases = 0;
    for (const sel of set.selections) {
      let m: Measure;
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name === '__schema' || name === '__type') continue;
        const sub = sel.selectionSet ? this.selectionSet(sel.selectionSet) : ZERO;
        m = { depth: sub.depth + 1, aliases: sub.aliases + (sel.alias ? 1 : 0) };
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        m = this.selectionSet(sel.selectionSet);
      } else {
        m = this.fragment(sel.name.value);
      }
      if (m.depth > depth) depth = m.depth;
      aliases += m.aliases;
    }
    return { depth, aliases };
  }

  fragment(name: string): Measure {
    const known = this.#memo.get(name);
    if (known) return known;
    const def = this.#fragments.get(name);
    if (!def || this.#active.has(name)) return ZERO;
    this.#active.add(name);
    const m = this.selectionSet(def.selectionSet);
    this.#active.delete(name);
    this.#memo.set(name, m);
    return m;
  }
}

/** Largest depth and alias count over the document's operations. */
export function measureOperationShape(doc: DocumentNode): OperationShape {
  const walker = new ShapeWalker(doc);
  let depth = 0;
  let aliases = 0;
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const m = walker.selectionSet(def.selectionSet);
    if (m.depth > depth) depth = m.depth;
    if (m.aliases > aliases) aliases = m.aliases;
  }
  return { depth, aliases };
}
