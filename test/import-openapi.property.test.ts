/**
 * Whatever an OpenAPI document holds (names in any script, nested and recursive schemas, enums
 * that are not GraphQL names, parameters in every place, bodies and answers of any shape), the
 * importer either refuses it with an ImportError or prints SDL that parses, whose bindings follow
 * the declared directives and whose every named type is defined and used, the same text every time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { importOpenApi } from '../src/cli/import/openapi.js';
import type { Json, JsonObject } from '../src/cli/import/openapi-load.js';
import { printDocument } from '../src/cli/import/sdl.js';
import { bindingProblems, unreachableTypes } from './helpers/sdl-ast.js';

const name = fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom('id', 'ids', 'userIds', 'input', 'Query', 'String', 'true', '__typename', '1a', 'a-b'));

const scalar = fc.record({ type: fc.constantFrom('string', 'integer', 'number', 'boolean'), format: fc.constantFrom('int64', 'int32', 'date-time', 'x') }, { requiredKeys: ['type'] });
const { schema, object } = fc.letrec<{ schema: Json; object: Json }>((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: scalar },
    { weight: 3, arbitrary: tie('object') },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('string'), enum: fc.array(name, { minLength: 1, maxLength: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constantFrom('array', ['array', 'null']), items: tie('schema') }) },
    { weight: 1, arbitrary: fc.record({ allOf: fc.array(tie('object'), { minLength: 1, maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ oneOf: fc.array(tie('schema'), { minLength: 1, maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ anyOf: fc.tuple(tie('schema'), fc.constant({ type: 'null' })) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('object'), additionalProperties: fc.constant(true) }) },
  ),
  object: fc.record({ type: fc.constant('object'), properties: fc.dictionary(name, tie('schema'), { minKeys: 1, maxKeys: 4 }), required: fc.array(name, { maxLength: 2 }), nullable: fc.boolean() }, { requiredKeys: ['type', 'properties'] }),
}));

const json = (s: Json): JsonObject => ({ 'application/json': { schema: s } });
const content = fc.oneof({ weight: 5, arbitrary: schema.map(json) }, { weight: 1, arbitrary: fc.constantFrom<JsonObject>({ 'multipart/form-data': {} }, { 'text/plain': {} }, {}) });
const parameter = fc.record({ name, in: fc.constantFrom('query', 'query', 'header', 'cookie', 'path'), required: fc.boolean(), schema, explode: fc.boolean() }, { requiredKeys: ['name', 'in', 'schema'] });
const operation = fc.record(
  {
    operationId: name,
    parameters: fc.array(parameter, { maxLength: 3 }),
    requestBody: fc.record({ required: fc.boolean(), content }),
    responses: fc.record({ '200': fc.record({ description: fc.constant('x'), content }, { requiredKeys: ['description'] }), '204': fc.constant({ description: 'none' }) }, { requiredKeys: [] }),
  },
  { requiredKeys: ['responses'] },
);
const pathItem = fc.record({ get: operation, post: operation, delete: operation, head: operation }, { requiredKeys: [] });
/** A literal path, or one with a parameter that the path item declares (as most documents do), or a random one. */
const entry = fc.oneof(
  fc.tuple(fc.array(name, { minLength: 1, maxLength: 2 }).map((s) => `/${s.join('/')}`), pathItem),
  fc.tuple(name, scalar, pathItem).map(([p, sc, item]) => [`/things/{${p}}`, { ...item, parameters: [{ name: p, in: 'path', required: true, schema: sc }] }] as const),
  fc.tuple(fc.array(fc.oneof(name, name.map((n) => `{${n}}`)), { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`), pathItem),
);
const document = fc.record({ paths: fc.array(entry, { minLength: 1, maxLength: 3 }).map((es) => Object.fromEntries(es)), schemas: fc.dictionary(name, schema, { maxKeys: 3 }) });

describe('import openapi over generated documents', () => {
  it('prints SDL that parses, binds as declared and defines every type it names; deterministic', () => {
    fc.assert(
      fc.property(document, ({ paths, schemas }) => {
        const doc: JsonObject = { openapi: '3.1.0', info: { title: 'g', version: '1' }, paths: paths as JsonObject, components: { schemas } };
        const schemaNames = new Map(Object.entries(schemas).filter(([, s]) => s !== null && typeof s === 'object').map(([n, s]) => [s as object, n]));
        const run = () => printDocument(importOpenApi({ version: '3.1', doc, schemaNames }, { label: 'g.json', upstream: 'g' }));
        const sdl = run();
        expect(run()).toBe(sdl);
        if (!/^type (Query|Mutation) \{/m.test(sdl)) return; // nothing importable: the command refuses it
        expect(bindingProblems(sdl)).toEqual([]);
        expect(bindingProblems(sdl, { uncommentHints: true })).toEqual([]);
        // A skipped operation takes back the types made for it.
        expect(unreachableTypes(sdl)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
