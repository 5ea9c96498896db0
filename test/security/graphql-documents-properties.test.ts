/**
 * Property tests for the GraphQL-document measures and bounds: the shape walker counts what a
 * document really contains (however it is split into fragments), `ofType` chains never add
 * depth, suggestions are always cut, and the document caches never exceed their byte budget.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphQLError, parse } from 'graphql';
import { measureOperationShape } from '../../src/limits/operation-shape.js';
import { withoutSuggestions } from '../../src/graphql/suggestions.js';
import { createDocumentCache, MAX_CACHED_TEXT } from '../../src/graphql/document-cache.js';

interface Sel {
  alias: boolean;
  directives: number;
  children: Sel[];
}

function selectionAt(levels: number): fc.Arbitrary<Sel> {
  return fc.record({
    alias: fc.boolean(),
    directives: fc.integer({ min: 0, max: 2 }),
    children: levels === 0 ? fc.constant([]) : fc.array(selectionAt(levels - 1), { maxLength: 3 }),
  });
}
const selection = selectionAt(4);

const depthOf = (s: Sel): number => 1 + Math.max(0, ...s.children.map(depthOf));
const aliasesOf = (s: Sel): number => (s.alias ? 1 : 0) + s.children.reduce((n, c) => n + aliasesOf(c), 0);
const directivesOf = (s: Sel): number => s.directives + s.children.reduce((n, c) => n + directivesOf(c), 0);

let counter = 0;
function print(s: Sel): string {
  const name = `f${counter++}`;
  const head = s.alias ? `a${name}: ${name}` : name;
  const dirs = Array.from({ length: s.directives }, (_, i) => (i % 2 ? '@skip(if: false)' : '@include(if: true)')).join(' ');
  const body = s.children.length ? ` { ${s.children.map(print).join(' ')} }` : '';
  return `${head} ${dirs}${body}`;
}

describe('measureOperationShape', () => {
  it('counts depth, aliases and directives of any selection tree', () => {
    fc.assert(
      fc.property(fc.array(selection, { minLength: 1, maxLength: 3 }), (roots) => {
        const shape = measureOperationShape(parse(`{ ${roots.map(print).join(' ')} }`));
        expect(shape.depth).toBe(Math.max(...roots.map(depthOf)));
        expect(shape.aliases).toBe(roots.reduce((n, r) => n + aliasesOf(r), 0));
        expect(shape.directives).toBe(roots.reduce((n, r) => n + directivesOf(r), 0));
        expect(shape.introspectionFields).toBe(0);
      }),
    );
  });

  it('multiplies by the spreads of a fragment and keeps the depth', () => {
    fc.assert(
      fc.property(selection, fc.integer({ min: 1, max: 6 }), (sel, spreads) => {
        const inline = measureOperationShape(parse(`{ ${print(sel)} }`));
        const spread = Array.from({ length: spreads }, () => '...F').join(' ');
        const split = measureOperationShape(parse(`query { ${spread} } fragment F on Query { ${print(sel)} }`));
        expect(split.depth).toBe(inline.depth);
        expect(split.aliases).toBe(inline.aliases * spreads);
        expect(split.directives).toBe(inline.directives * spreads);
      }),
    );
  });

  it('counts every __schema/__type, wherever fragments put them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 4 }), (direct, spreads) => {
        const fields = Array.from({ length: direct }, (_, i) => `t${i}: __type(name: "Q") { name }`).join(' ');
        const doc = parse(`query { ${fields} ${'...S '.repeat(spreads)} } fragment S on Query { __schema { queryType { name } } }`);
        expect(measureOperationShape(doc).introspectionFields).toBe(direct + spreads);
      }),
    );
  });

  it('never adds depth for an ofType chain, and counts introspection list nesting', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 6 }), (chain, lists) => {
        const ofType = `${'ofType { '.repeat(chain)}name${' }'.repeat(chain)}`;
        const doc = parse(`{ __schema { ${'types { '.repeat(1)}${'fields { type { '.repeat(lists - 1)}${ofType}${' } }'.repeat(lists - 1)} } } }`);
        const shape = measureOperationShape(doc);
        expect(shape.depth).toBe(3 + 2 * (lists - 1));
        expect(shape.introspectionListDepth).toBe(lists);
        expect(shape.introspectionListAliased).toBe(false);
      }),
    );
  });
});

describe('withoutSuggestions', () => {
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
  it('cuts every graphql-js hint and leaves other messages alone', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !s.includes('Did you mean') && !s.endsWith('?')), fc.array(name, { minLength: 1, maxLength: 5 }), fc.boolean(), (prefix, names, enumStyle) => {
        const hint = ` Did you mean ${enumStyle ? 'the enum value ' : ''}${names.map((n) => `"${n}"`).join(', ')}?`;
        const plain = new GraphQLError(prefix);
        const [cut, kept] = withoutSuggestions([new GraphQLError(prefix + hint), plain]);
        expect(cut!.message).toBe(prefix);
        for (const n of names) expect(cut!.message.endsWith(`"${n}"?`)).toBe(false);
        expect(kept).toBe(plain);
      }),
    );
  });
});

describe('createDocumentCache', () => {
  it('never holds more than its byte budget, nor a text longer than the per-entry cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 64 * 1024, max: 2 * 1024 * 1024 }), fc.array(fc.integer({ min: 1, max: 40 * 1024 }), { maxLength: 60 }), (budget, lengths) => {
        const cache = createDocumentCache<object>(budget)!;
        lengths.forEach((len, i) => cache.set(`${i}`.padEnd(len, ' '), {}));
        expect(cache.calculatedSize).toBeLessThanOrEqual(budget);
        for (const key of cache.keys()) expect(key.length).toBeLessThanOrEqual(MAX_CACHED_TEXT);
        const last = lengths.length - 1;
        if (last >= 0 && lengths[last]! <= MAX_CACHED_TEXT && budget >= 32 * MAX_CACHED_TEXT + 1024) {
          expect(cache.has(`${last}`.padEnd(lengths[last]!, ' '))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });
});
