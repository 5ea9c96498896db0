/**
 * The compiled response serializer (src/graphql/compiled-execution.ts, `buildSerializer`) writes
 * the same bytes as JSON.stringify for every result an operation can have: random data of the
 * operation's shape (strings with control characters, quotes, backslashes, lone surrogates and
 * astral characters; floats, negative zero, large integers; nulls where the schema allows them;
 * empty and long lists), and results it must hand back to JSON.stringify (errors, extensions,
 * null data). Operations it cannot serialize exactly (interfaces, unions, custom scalars) get no
 * serializer. Fixture schema of its own.
 */
import fc from 'fast-check';
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSerializer } from '../../src/graphql/compiled-execution.js';

const schema = buildSchema(`
  scalar JSON
  enum Colour { RED GREEN }
  interface Named { name: String! }
  type Tag implements Named { name: String! weight: Float }
  type Item implements Named { name: String! count: Int! price: Float! ok: Boolean id: ID! colour: Colour tags: [Tag!] notes: [String] }
  union Thing = Tag | Item
  type Query { item(id: ID!): Item items: [Item]! named: [Named!]! thing: Thing meta: JSON }
`);

const QUERY = `query Q($id: ID!) {
  item(id: $id) { ...F tags { name weight } notes colour }
  list: items { __typename name count price ok id tags { w: weight name } }
}
fragment F on Item { id name count price ok }`;

// Code units of the surrogate range, alone or mixed with others: lone surrogates, which 'binary' never yields.
const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: fc.oneof(surrogate, fc.constantFrom('a', '"', '\\', '\n', '\u0001')), maxLength: 12 }));
const float = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0), fc.integer(), fc.constant(2 ** 53 - 1));
const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const tag = fc.record({ name: text, weight: fc.option(float, { nil: null }) });
const item = fc.record({
  id: text,
  name: text,
  count: int,
  price: float,
  ok: fc.option(fc.boolean(), { nil: null }),
  tags: fc.option(fc.array(tag, { maxLength: 4 }), { nil: null }),
  notes: fc.option(fc.array(fc.option(text, { nil: null }), { maxLength: 4 }), { nil: null }),
  colour: fc.option(fc.constantFrom('RED', 'GREEN'), { nil: null }),
});
const listItem = fc.record({
  __typename: fc.constant('Item'),
  name: text,
  count: int,
  price: float,
  ok: fc.option(fc.boolean(), { nil: null }),
  id: text,
  tags: fc.option(fc.array(fc.record({ w: fc.option(float, { nil: null }), name: text }), { maxLength: 3 }), { nil: null }),
});
const data = fc.record({ item: fc.option(item, { nil: null }), list: fc.array(fc.option(listItem, { nil: null }), { maxLength: 6 }) });

describe('the compiled serializer', () => {
  const serialize = buildSerializer(schema, parse(QUERY), 'Q');

  it('is built for an operation on object types and built-in scalars', () => {
    expect(serialize).toBeTypeOf('function');
  });

  it('writes the same bytes as JSON.stringify for any data of the operation’s shape', () => {
    fc.assert(
      fc.property(data, (d) => {
        const result: ExecutionResult = { data: d };
        expect(serialize!(result)).toBe(JSON.stringify(result));
      }),
      { numRuns: 500 },
    );
  });

  it('hands results with errors, extensions or null data to JSON.stringify', () => {
    fc.assert(
      fc.property(data, text, fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.jsonValue()), (d, message, extensions) => {
        const withErrors = { data: d, errors: [{ message, path: ['item'] }] } as unknown as ExecutionResult;
        const withExtensions: ExecutionResult = { data: d, extensions };
        const nullData = { data: null, errors: [{ message }] } as unknown as ExecutionResult;
        expect(serialize!(withErrors)).toBe(JSON.stringify(withErrors));
        expect(serialize!(withExtensions)).toBe(JSON.stringify(withExtensions));
        expect(serialize!(nullData)).toBe(JSON.stringify(nullData));
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ['an interface', '{ named { name } }'],
    ['a union', '{ thing { ... on Tag { name } ... on Item { name count } } }'],
    ['an inline fragment on an interface', '{ item(id: "1") { ... on Named { name } } }'],
    ['a custom scalar', '{ meta }'],
  ])('is not built for an operation selecting %s', (_name, query) => {
    expect(buildSerializer(schema, parse(query), undefined)).toBeNull();
  });
});
