/**
 * `gateway import openapi` run as a user runs it, over the fixtures in test/fixtures/import/:
 * the printed SDL is parsed with graphql and its fields, arguments and binding arguments are
 * checked one by one. Loader limits (external refs, size, aliases, versions) are also checked
 * in-process, where a child process would add nothing but time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../src/cli/import/openapi-load.js';
import type { DocumentNode } from 'graphql';
import { runCliAll, ROOT, type CliResult } from './helpers/cli.js';
import { argTypes, bindingProblems, definition, directiveArgs, enumValues, field, fieldNames, fieldTypes, parseSdl, typeNames, typeOf, unreachableTypes } from './helpers/sdl-ast.js';
import { loadOpenApi } from '../src/cli/import/openapi-load.js';
import { importOpenApi } from '../src/cli/import/openapi.js';
import { printDocument } from '../src/cli/import/sdl.js';
import { ImportError, MAX_IMPORT_BYTES } from '../src/cli/import/source.js';

const FIX = join(ROOT, 'test/fixtures/import');
const tmp = mkdtempSync(join(tmpdir(), 'gw-import-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The child processes are started together: each is a fresh Node process on a loaded 2-core machine.
const runs: Record<string, string[]> = {
  petstore: ['import', 'openapi', join(FIX, 'petstore.yaml')],
  shop: ['import', 'openapi', join(FIX, 'shop.openapi.json'), '--upstream', 'orders'],
  only: ['import', 'openapi', join(FIX, 'petstore.yaml'), '--operations', 'getPet,create-pet', '--out', join(tmp, 'out.graphql')],
  external: ['import', 'openapi', join(FIX, 'external-ref.json')],
  badYaml: ['import', 'openapi', join(FIX, 'bad.yaml')],
  missing: ['import', 'openapi', join(FIX, 'no-such-file.yaml')],
  unknownOp: ['import', 'openapi', join(FIX, 'petstore.yaml'), '--operations', 'getPet,adoptPet'],
  nothing: ['import', 'openapi', join(FIX, 'petstore.yaml'), '--operations', 'health'],
  unwritable: ['import', 'openapi', join(FIX, 'petstore.yaml'), '--out', join(tmp, 'no-such-dir', 'out.graphql')],
};
/** Checked through `main` in this process: only the option handling and error paths differ from a spawned run. */
const IN_PROCESS = ['only', 'unknownOp', 'nothing', 'unwritable'];
let results: Record<string, CliResult> = {};

beforeAll(async () => {
  results = await runCliAll(runs, IN_PROCESS);
}, 90_000);

describe('petstore.yaml (OpenAPI 3.0, YAML)', () => {
  let doc: DocumentNode;
  beforeAll(() => {
    expect(results.petstore!.stderr).toBe('');
    expect(results.petstore!.code).toBe(0);
    doc = parseSdl(results.petstore!.stdout);
  });

  it('GET operations are Query fields, the others Mutation fields, named from operationId (camelCased)', () => {
    expect(fieldNames(doc, 'Query')).toEqual(['listPets', 'getPet', 'getPetsByIds']);
    expect(fieldNames(doc, 'Mutation')).toEqual(['createPet', 'deletePet']);
  });

  it('query and header parameters become typed arguments written into path and headers; the server path prefixes the path', () => {
    const f = field(doc, 'Query', 'listPets');
    expect(argTypes(f)).toEqual({ limit: 'Int', status: 'ListPetsStatus!', xTenant: 'String' });
    expect(directiveArgs(f, 'http')).toEqual({
      upstream: 'petstore',
      path: '/v1/pets?limit={$args.limit}&status={$args.status}',
      headers: ['X-Tenant: {$args.xTenant}'],
      map: ['birthDate: birth-date'],
    });
    expect(typeOf(f)).toBe('[Pet!]');
    expect(enumValues(doc, 'ListPetsStatus')).toEqual(['available', 'sold']);
  });

  it('path parameters (declared on the path item) are non-null arguments in the path template', () => {
    const f = field(doc, 'Query', 'getPet');
    expect(argTypes(f)).toEqual({ petId: 'String!' });
    expect(directiveArgs(f, 'http')).toMatchObject({ upstream: 'petstore', path: '/v1/pets/{$args.petId}' });
    expect(directiveArgs(f, 'http')).not.toHaveProperty('method');
  });

  it('a JSON request body becomes an input type passed whole as the body; readOnly properties stay out', () => {
    const f = field(doc, 'Mutation', 'createPet');
    expect(argTypes(f)).toEqual({ input: 'NewPetInput!' });
    expect(directiveArgs(f, 'http')).toMatchObject({ method: 'POST', path: '/v1/pets', body: '"$args.input"' });
    expect(fieldTypes(doc, 'NewPetInput')).toEqual({ name: 'String!', tag: 'String' });
    expect(definition(doc, 'NewPetInput')?.kind).toBe('InputObjectTypeDefinition');
  });

  it('an answer without JSON gets a placeholder type; DELETE is the method', () => {
    const f = field(doc, 'Mutation', 'deletePet');
    expect(typeOf(f)).toBe('Boolean');
    expect(directiveArgs(f, 'http')).toMatchObject({ method: 'DELETE', path: '/v1/pets/{$args.petId}' });
  });

  it('the answer schema becomes object types: required non-null, int64 String, nested objects named after their place, renames in map', () => {
    expect(fieldTypes(doc, 'Pet')).toEqual({ id: 'String!', name: 'String!', tag: 'String', birthDate: 'String', owner: 'PetOwner', kind: 'String' });
    expect(fieldTypes(doc, 'PetOwner')).toEqual({ firstName: 'String', phone: 'String' });
  });

  it('an ids list parameter with a list answer of items with id gets a commented-out batch hint, not a batch', () => {
    const f = field(doc, 'Query', 'getPetsByIds');
    expect(directiveArgs(f, 'http')).not.toHaveProperty('batch');
    expect(argTypes(f)).toEqual({ ids: '[String!]!' });
    expect(results.petstore!.stdout).toContain('      # batch: { form: QUERY, param: "ids", key: "$args.ids", matchOn: "id" }\n');
  });

  it('what a binding cannot say is a skipped line with its reason, not a crash', () => {
    const out = results.petstore!.stdout;
    expect(out).toMatch(/^# import: skipped PUT \/pets\/\{petId\}\/photo \(uploadPhoto\) because its request body is multipart\/form-data/m);
    expect(out).toMatch(/^# import: skipped GET \/health \(health\) because it answers text\/plain, not JSON$/m);
    expect(out).toMatch(/^ {2}# import: skipped callbacks \(onAdopted\)/m);
    expect(out).toMatch(/^ {2}# import: skipped cookie parameter "session"/m);
    expect(out).toMatch(/# import: its enum values \("cat", "dog", "in-between"\) are not all GraphQL enum names, so it is typed String/);
  });
});

describe('shop.openapi.json (OpenAPI 3.1, JSON, $refs)', () => {
  let doc: DocumentNode;
  beforeAll(() => {
    expect(results.shop!.stderr).toBe('');
    expect(results.shop!.code).toBe(0);
    doc = parseSdl(results.shop!.stdout);
  });

  it('$refs to parameters, responses and schemas are followed; --upstream names the upstream', () => {
    const f = field(doc, 'Query', 'getOrder');
    expect(argTypes(f)).toEqual({ id: 'String!' });
    expect(typeOf(f)).toBe('Order');
    expect(directiveArgs(f, 'http')).toEqual({ upstream: 'orders', path: '/orders/{$args.id}', map: ['totalCents: total_cents'] });
  });

  it('3.1 type arrays with null are nullable, component enums keep their names, unsupported members are skipped', () => {
    expect(fieldTypes(doc, 'Order')).toEqual({ id: 'String!', userId: 'String!', note: 'String', items: '[OrderItem!]!', status: 'Status', totalCents: 'Int' });
    expect(enumValues(doc, 'Status')).toEqual(['PENDING', 'SHIPPED']);
    expect(results.shop!.stdout).toContain('# import: skipped "meta" because an object without properties');
    expect(results.shop!.stdout).toContain('# import: skipped "choice" because oneOf of 2 schemas');
  });

  it('an object query parameter is skipped and leaves no orphan input type', () => {
    expect(argTypes(field(doc, 'Query', 'listOrders'))).toEqual({ userIds: '[String!]' });
    expect(typeNames(doc).filter((n) => n.includes('Filter'))).toEqual([]);
    expect(results.shop!.stdout).toContain('# batch: { form: REPEATED_QUERY, param: "userIds", key: "$args.userIds", matchOn: "userId" }');
  });

  it('allOf merges properties; a renamed top-level input property gets an explicit body naming the wire name', () => {
    const f = field(doc, 'Mutation', 'createOrder');
    expect(argTypes(f)).toEqual({ input: 'OrderInput!' });
    expect(fieldTypes(doc, 'OrderInput')).toEqual({ items: '[OrderItemInput!]!', giftNote: 'String' });
    const body = directiveArgs(f, 'http')!.body as string;
    expect(JSON.parse(body)).toEqual({ items: '$args.input.items', 'gift-note': '$args.input.giftNote' });
  });

  it('recursive schemas become recursive types; an operationId with a space is camelCased', () => {
    expect(fieldTypes(doc, 'Category')).toEqual({ name: 'String', parent: 'Category', children: '[Category!]' });
    expect(argTypes(field(doc, 'Query', 'getCategory'))).toEqual({ id: 'Int!' });
  });
});

describe('the bindings follow the directives as the engine declares them', () => {
  for (const k of ['petstore', 'shop'] as const) {
    it(`${k}: every binding argument is declared and of its type, every type named is defined, and so with the batch hints uncommented`, () => {
      expect(bindingProblems(results[k]!.stdout)).toEqual([]);
      const hinted = results[k]!.stdout.replace(/^(\s*)# (batch: )/gm, '$1$2');
      expect(hinted).not.toBe(results[k]!.stdout);
      expect(bindingProblems(results[k]!.stdout, { uncommentHints: true })).toEqual([]);
    });
  }

  it('the check itself catches an undeclared argument and a value of the wrong type', () => {
    expect(bindingProblems('type Query { a: Int @http(upstream: "u", path: "/a", verb: "GET") }').join()).toMatch(/Unknown argument "verb"/);
    expect(bindingProblems('type Query { a: Int @http(upstream: "u", path: "/a", headers: [1]) }')).toEqual(['Query.a @http(headers:) is not a [String!]']);
  });
});

describe('options', () => {
  it('--operations picks operations by operationId; --out writes the file and nothing to stdout', () => {
    const r = results.only!;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const doc = parseSdl(readFileSync(join(tmp, 'out.graphql'), 'utf8'));
    expect(fieldNames(doc, 'Query')).toEqual(['getPet']);
    expect(fieldNames(doc, 'Mutation')).toEqual(['createPet']);
    expect(typeNames(doc)).not.toContain('ListPetsStatus');
  });

  it('the output is the same on every run, and the same as in-process', async () => {
    const label = 'petstore.yaml';
    const once = printDocument(importOpenApi(await loadOpenApi(join(FIX, label)), { label, upstream: 'petstore' }));
    const twice = printDocument(importOpenApi(await loadOpenApi(join(FIX, label)), { label, upstream: 'petstore' }));
    expect(twice).toBe(once);
    expect(results.petstore!.stdout).toBe(once);
  });
});

describe('errors are one line and exit code 1', () => {
  const oneLine = (r: CliResult) => {
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    return r.stderr.trim();
  };

  it('a missing file', () => expect(oneLine(results.missing!)).toMatch(/^import: .*no-such-file\.yaml: no such file$/));
  it('bad YAML, with line and column', () => expect(oneLine(results.badYaml!)).toMatch(/^import: .*bad\.yaml: not valid YAML at line 3, column 1: /));
  it('an external $ref, named with where it sits, and never fetched', () =>
    expect(oneLine(results.external!)).toMatch(/^import: .*external-ref\.json: \$ref "https:\/\/schemas\.example\.com\/thing\.json#\/Thing" at \/paths\/~1things\/get\/responses\/200\/content\/application~1json\/schema points outside the file/));
  it('nothing importable, with the first reason', () => expect(oneLine(results.nothing!)).toBe('import: petstore.yaml: nothing to import: skipped GET /health (health) because it answers text/plain, not JSON'));
  it('an --out that cannot be written', () => expect(oneLine(results.unwritable!)).toMatch(/^import: --out .*out\.graphql: cannot be written \(ENOENT\)$/));
  it('an unknown operation, naming the ones there are', () => expect(oneLine(results.unknownOp!)).toMatch(/^import: petstore\.yaml: no operation "adoptPet"; it has listPets, create-pet, getPet/));
});

describe('odd documents, in-process', () => {
  const imported = async (paths: JsonObject, openapi = '3.0') => {
    const p = join(tmp, `odd-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, `\uFEFF${JSON.stringify({ openapi, info: { title: 'odd', version: '1' }, paths })}`);
    return printDocument(importOpenApi(await loadOpenApi(p), { label: 'odd.json', upstream: 'odd' }));
  };
  const ok = { '200': { description: 'x', content: { 'application/json': { schema: { type: 'string' } } } } };

  it('a version without patch number and a byte order mark are accepted', async () => {
    expect(await imported({ '/a': { get: { operationId: 'a', responses: ok } } })).toContain('  a: String\n');
  });

  it('a path with characters a template cannot hold is skipped; so is a parameter in no OpenAPI 3 place', async () => {
    const sdl = await imported({
      '/a?x=1': { get: { operationId: 'q', responses: ok } },
      '/b#frag': { get: { operationId: 'h', responses: ok } },
      '/c/{id': { get: { operationId: 'brace', responses: ok } },
      '/d': { get: { operationId: 'd', parameters: [{ name: 'x', in: 'body', schema: { type: 'string' } }], responses: ok } },
    });
    expect(sdl).toMatch(/^# import: skipped GET \/a\?x=1 \(q\) because its path "\/a\?x=1" holds characters/m);
    expect(sdl).toMatch(/^# import: skipped GET \/b#frag \(h\)/m);
    expect(sdl).toMatch(/^# import: skipped GET \/c\/\{id \(brace\)/m);
    expect(argTypes(field(parseSdl(sdl), 'Query', 'd'))).toEqual({});
    expect(sdl).toContain('# import: skipped parameter "x" because "in: body" is not an OpenAPI 3 place');
  });

  it('an operation skipped after its parameters and body were typed leaves no orphan type, and its names are free again', async () => {
    const body = { required: true, content: { 'application/json': { schema: { type: 'object', properties: { a: { type: 'string' } } } } } };
    const status = { name: 'status', in: 'query', schema: { type: 'string', enum: ['on', 'off'] } };
    const sdl = await imported({
      '/x': { post: { operationId: 'send', parameters: [status], requestBody: body, responses: { '200': { description: 'x', content: { 'text/plain': {} } } } } },
      '/y': { post: { operationId: 'send2', requestBody: body, responses: ok } },
    });
    expect(sdl).toMatch(/^# import: skipped POST \/x \(send\) because it answers text\/plain, not JSON$/m);
    expect(unreachableTypes(sdl)).toEqual([]);
    expect(typeNames(parseSdl(sdl))).toEqual(['Mutation', 'Send2Input']);
  });
});

describe('the loader refuses, in-process', () => {
  const write = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const refusal = async (file: string) => {
    const err = await loadOpenApi(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    return (err as Error).message;
  };
  const doc = (ref: string) => JSON.stringify({ openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { get: { responses: { '200': { description: 'x', content: { 'application/json': { schema: { $ref: ref } } } } } } } } });

  it('a $ref to another file, even next to it (and reads nothing)', async () => {
    write('other.json', '{"Thing": {"type": "object"}}');
    expect(await refusal(write('rel.json', doc('other.json#/Thing')))).toMatch(/\$ref "other\.json#\/Thing" .* points outside the file/);
  });

  it('a $ref to nothing inside the file', async () => {
    expect(await refusal(write('missing-ptr.json', doc('#/components/schemas/Nope')))).toMatch(/missing-ptr\.json: .*Nope/);
  });

  it('a file over the size bound, before parsing it', async () => {
    const p = join(tmp, 'big.json');
    writeFileSync(p, Buffer.alloc(MAX_IMPORT_BYTES + 1, 0x20));
    expect(await refusal(p)).toMatch(/more than the \d+ an import reads/);
  });

  it('a YAML alias bomb', async () => {
    const lines = ['openapi: 3.0.3', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    expect(await refusal(write('bomb.yaml', `${lines.join('\n')}\n`))).toMatch(/bomb\.yaml: not valid YAML/);
  });

  it('Swagger 2.0 and documents that are not objects', async () => {
    expect(await refusal(write('swagger.json', '{"swagger": "2.0", "paths": {}}'))).toMatch(/Swagger 2\.0; only OpenAPI 3\.0 and 3\.1 are imported/);
    expect(await refusal(write('list.yaml', '- a\n- b\n'))).toMatch(/not an OpenAPI document/);
  });
});
