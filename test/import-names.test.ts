/**
 * The importers' names and type tables, and the SDL printer: every name they make is a valid,
 * unique GraphQL name whatever the imported file says, and no text from the file (descriptions,
 * notes, paths) can break the printed SDL.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse } from 'graphql';
import { NameScope, PROTO_SCALARS, enumValueName, fieldName, isEnumValueName, isGraphQLName, openApiScalar, typeName } from '../src/cli/import/names.js';
import { named, printDocument, type SdlDocument } from '../src/cli/import/sdl.js';
import { upstreamFromFile, UPSTREAM_NAME } from '../src/cli/import/source.js';
import { QUERY_RPC } from '../src/cli/import/proto.js';
import { directiveArgs, field, parseSdl } from './helpers/sdl-ast.js';

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

describe('field and argument names', () => {
  const cases: Array<[string, string]> = [
    ['listPets', 'listPets'],
    ['list-pets', 'listPets'],
    ['GetProducts', 'getProducts'],
    ['price_cents', 'priceCents'],
    ['getUserByID', 'getUserById'],
    ['HTTPStatus', 'httpStatus'],
    ['get /pets/{petId}', 'getPetsPetId'],
    ['200ok', '_200ok'],
    ['__typename', 'typename'],
    ['café au lait', 'cafeAuLait'],
    ['x-tenant', 'xTenant'],
    ['', 'field'],
    ['!!!', 'field'],
    ['日本', 'field'],
  ];
  for (const [raw, want] of cases) it(`${JSON.stringify(raw)} → ${want}`, () => expect(fieldName(raw)).toBe(want));
});

describe('type names and enum values', () => {
  const types: Array<[string, string]> = [
    ['pet', 'Pet'],
    ['pet_owner', 'PetOwner'],
    ['Outer_Inner', 'OuterInner'],
    ['1thing', '_1thing'],
    ['', 'Type'],
  ];
  for (const [raw, want] of types) it(`type ${JSON.stringify(raw)} → ${want}`, () => expect(typeName(raw)).toBe(want));

  it('built-in and binding type names are taken from the start of a type scope', () => {
    const scope = NameScope.forTypes();
    expect(['String', 'Query', 'Mutation', 'BindingBatch', 'ID'].map((n) => scope.take(n))).toEqual(['String2', 'Query2', 'Mutation2', 'BindingBatch2', 'ID2']);
  });

  it('a collision takes the smallest free suffix, also past a name that already ends in a number', () => {
    const scope = new NameScope();
    expect(['listPets', 'listPets2', 'listPets', 'listPets'].map((n) => scope.take(n))).toEqual(['listPets', 'listPets2', 'listPets3', 'listPets4']);
  });

  it('enum values: true, false and null are not values; others are made UPPER_SNAKE', () => {
    expect(['available', 'IN_STOCK', 'true', 'null', '1', 'in-stock'].map(isEnumValueName)).toEqual([true, true, false, false, false, false]);
    expect(enumValueName('in-stock')).toBe('IN_STOCK');
    expect(enumValueName('1st')).toBe('_1ST');
    expect(enumValueName('true')).toBe('TRUE');
  });
});

describe('scalar tables', () => {
  it('OpenAPI types and formats', () => {
    expect(openApiScalar('string', 'date-time')).toEqual({ scalar: 'String' });
    expect(openApiScalar('integer', undefined)).toEqual({ scalar: 'Int' });
    expect(openApiScalar('integer', 'int32')).toEqual({ scalar: 'Int' });
    expect(openApiScalar('integer', 'int64')?.scalar).toBe('String');
    expect(openApiScalar('number', 'double')).toEqual({ scalar: 'Float' });
    expect(openApiScalar('boolean', undefined)).toEqual({ scalar: 'Boolean' });
    expect(openApiScalar('object', undefined)).toBeUndefined();
  });

  it('protobuf scalars: 64-bit and unsigned 32-bit integers are String, bytes String, floats Float', () => {
    expect(PROTO_SCALARS).toMatchObject({ int32: 'Int', sint32: 'Int', int64: 'String', uint64: 'String', uint32: 'String', fixed64: 'String', bytes: 'String', double: 'Float', float: 'Float', bool: 'Boolean', string: 'String' });
  });

  it('the Query rule for rpc names: Get, List, Search, BatchGet followed by a capital, digit or nothing', () => {
    const query = ['GetProducts', 'ListOrders', 'SearchWidgets', 'BatchGetUsers', 'Get', 'Get2'];
    const mutation = ['Getaway', 'Listen', 'CreateOrder', 'BatchCreateUsers', 'DeleteUser', 'getProducts'];
    expect(query.filter((n) => !QUERY_RPC.test(n))).toEqual([]);
    expect(mutation.filter((n) => QUERY_RPC.test(n))).toEqual([]);
  });

  it('upstream names from file names are config keys', () => {
    expect(upstreamFromFile('specs/petstore.yaml')).toBe('petstore');
    expect(upstreamFromFile('shop.openapi.json')).toBe('shop');
    expect(upstreamFromFile('2fa service.yaml')).toBe('_2fa-service');
    expect(upstreamFromFile('.hidden')).toBe('upstream');
  });
});

describe('properties', () => {
  it('any list of raw names becomes valid, unique, non-introspection GraphQL field names', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 24 }), { maxLength: 30 }), (raws) => {
        const scope = new NameScope();
        const names = raws.map((r) => scope.take(fieldName(r)));
        for (const n of names) {
          expect(n).toMatch(GRAPHQL_NAME);
          expect(n.startsWith('__')).toBe(false);
        }
        expect(new Set(names).size).toBe(names.length);
      }),
      { numRuns: 300 },
    );
  });

  it('any list of raw names becomes valid, unique type names that shadow no built-in or binding type', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 16 }), fc.constantFrom('String', 'Query', 'ID', 'Int', 'BindingBatch')), { maxLength: 30 }), (raws) => {
        const scope = NameScope.forTypes();
        const names = raws.map((r) => scope.take(typeName(r)));
        for (const n of names) {
          expect(isGraphQLName(n)).toBe(true);
          expect(['String', 'Int', 'Float', 'Boolean', 'ID', 'Query', 'Mutation', 'Subscription', 'BindingBatch', 'BindingBatchForm']).not.toContain(n);
        }
        expect(new Set(names).size).toBe(names.length);
      }),
      { numRuns: 300 },
    );
  });

  it('any enum value name made from wire text is a valid enum value', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 24 }), (raw) => {
        expect(isEnumValueName(enumValueName(raw))).toBe(true);
      }), { numRuns: 300 });
  });

  it('no description, note or template text can break the printed SDL, and strings come back as written', () => {
    const text = fc.string({ unit: 'binary', maxLength: 60 });
    fc.assert(
      fc.property(text, text, text, text, (description, note, path, hint) => {
        const doc: SdlDocument = {
          header: [note],
          skipped: [note],
          query: [{ name: 'f', type: named('String'), args: [], description, notes: [note], binding: { directive: 'http', args: [['upstream', 'u'], ['path', path], ['headers', [path]]], hints: [hint] } }],
          mutation: [],
          types: [{ kind: 'type', name: 'T', description, notes: [note], fields: [{ name: 'x', type: named('Int'), args: [], notes: [hint] }] }],
          enums: [{ name: 'E', description, values: ['A'] }],
        };
        const sdl = printDocument(doc);
        expect(() => parse(sdl)).not.toThrow();
        const args = directiveArgs(field(parseSdl(sdl), 'Query', 'f'), 'http');
        // Lone surrogates cannot be written in a GraphQL string; they become U+FFFD.
        const wellFormed = path.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
        expect(args).toEqual({ upstream: 'u', path: wellFormed, headers: [wellFormed] });
      }),
      { numRuns: 300 },
    );
  });

  it('upstream names made from any file name are accepted by the config', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (f) => {
        expect(upstreamFromFile(f)).toMatch(UPSTREAM_NAME);
      }), { numRuns: 300 });
  });
});
