/**
 * `gateway import proto` run as a user runs it, over test/fixtures/import/nested.proto (nested
 * messages, enums, oneof, map, an import next to it, a bundled google/protobuf import,
 * streaming): the printed SDL is parsed and checked field by field. Loader refusals are
 * checked in-process.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentNode } from 'graphql';
import { runCliAll, ROOT, type CliResult } from './helpers/cli.js';
import { argTypes, bindingProblems, directiveArgs, enumValues, field, fieldNames, fieldTypes, parseSdl, typeOf } from './helpers/sdl-ast.js';
import { importProto } from '../src/cli/import/proto.js';
import { ImportError } from '../src/cli/import/source.js';
import { printDocument } from '../src/cli/import/sdl.js';

const FIX = join(ROOT, 'test/fixtures/import');
const tmp = mkdtempSync(join(tmpdir(), 'gw-import-proto-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const runs: Record<string, string[]> = {
  all: ['import', 'proto', join(FIX, 'nested.proto')],
  some: ['import', 'proto', join(FIX, 'nested.proto'), '--methods', 'GetWidget,fixture.v1.Widgets/CreateWidget', '--upstream', 'widgets'],
  missing: ['import', 'proto', join(FIX, 'no-such.proto')],
};
/** Checked through `main` in this process: only the option handling and error paths differ from a spawned run. */
const IN_PROCESS = ['some', 'missing'];
let results: Record<string, CliResult> = {};

beforeAll(async () => {
  results = await runCliAll(runs, IN_PROCESS);
}, 90_000);

describe('nested.proto', () => {
  let doc: DocumentNode;
  beforeAll(() => {
    expect(results.all!.stderr).toBe('');
    expect(results.all!.code).toBe(0);
    doc = parseSdl(results.all!.stdout);
  });

  it('Get/BatchGet/Search rpcs are Query fields, the others (Getaway too) Mutation fields; streaming rpcs are skipped', () => {
    expect(fieldNames(doc, 'Query')).toEqual(['getWidget', 'batchGetWidgets', 'searchWidgets']);
    expect(fieldNames(doc, 'Mutation')).toEqual(['createWidget', 'getaway', 'ping']);
    expect(results.all!.stdout).toMatch(/^# import: skipped fixture\.v1\.Widgets\/WatchWidgets because it streams \(response\)/m);
  });

  it('request fields are arguments (nested messages as input types) and the request template names each', () => {
    const f = field(doc, 'Query', 'searchWidgets');
    expect(argTypes(f)).toEqual({ query: 'String', filter: 'SearchRequestFilterInput', pageSize: 'Int' });
    const g = directiveArgs(f, 'grpc')!;
    expect(g).toMatchObject({ upstream: 'nested', method: 'SearchWidgets' });
    expect(JSON.parse(g.request as string)).toEqual({ query: '$args.query', filter: '$args.filter', pageSize: '$args.pageSize' });
    expect(fieldTypes(doc, 'SearchRequestFilterInput')).toEqual({ color: 'Color', minCount: 'Int' });
  });

  it('the response message is an object type: scalars non-null, 64-bit String, enums, lists, nested and imported messages, oneof members nullable', () => {
    expect(typeOf(field(doc, 'Query', 'getWidget'))).toBe('Widget');
    expect(fieldTypes(doc, 'Widget')).toEqual({
      id: 'String!',
      displayName: 'String!',
      weightGrams: 'String!',
      count: 'String!',
      thumbnail: 'String!',
      color: 'Color!',
      tags: '[String!]!',
      size: 'WidgetDimensions',
      createdAt: 'Timestamp',
      price: 'Money',
      userId: 'String',
      teamId: 'String',
    });
    expect(fieldTypes(doc, 'WidgetDimensions')).toEqual({ width: 'Float!', height: 'Float!' });
    expect(fieldTypes(doc, 'Timestamp')).toEqual({ seconds: 'String!', nanos: 'Int!' });
    expect(fieldTypes(doc, 'Money')).toEqual({ currencyCode: 'String!', units: 'String!' });
    expect(enumValues(doc, 'Color')).toEqual(['COLOR_UNSPECIFIED', 'RED', 'GREEN']);
    expect(results.all!.stdout).toContain('# import: skipped labels because a map field has no GraphQL type');
  });

  it('a repeated ids field with a list of messages that have id gets a commented-out batch hint', () => {
    const f = field(doc, 'Query', 'batchGetWidgets');
    expect(argTypes(f)).toEqual({ ids: '[String!]' });
    expect(directiveArgs(f, 'grpc')).not.toHaveProperty('batch');
    expect(results.all!.stdout).toContain('      # batch: { form: REQUEST_FIELD, param: "ids", key: "$args.ids", matchOn: "id" }, select: "widgets"\n');
  });

  it('every binding follows the declared directives, the batch hint uncommented too', () => {
    expect(bindingProblems(results.all!.stdout)).toEqual([]);
    expect(bindingProblems(results.all!.stdout, { uncommentHints: true })).toEqual([]);
  });

  it('an empty message answer is a placeholder, with no request template; comments become descriptions', () => {
    const ping = field(doc, 'Mutation', 'ping');
    expect(typeOf(ping)).toBe('Boolean');
    expect(directiveArgs(ping, 'grpc')).toEqual({ upstream: 'nested', method: 'Ping' });
    expect(field(doc, 'Query', 'getWidget').description?.value).toBe('One widget by id.');
  });
});

describe('options and errors', () => {
  it('--methods takes short and qualified rpc names; --upstream names the upstream', () => {
    expect(results.some!.code).toBe(0);
    const doc = parseSdl(results.some!.stdout);
    expect(fieldNames(doc, 'Query')).toEqual(['getWidget']);
    expect(fieldNames(doc, 'Mutation')).toEqual(['createWidget']);
    expect(directiveArgs(field(doc, 'Mutation', 'createWidget'), 'grpc')).toMatchObject({ upstream: 'widgets', method: 'CreateWidget' });
    expect(argTypes(field(doc, 'Mutation', 'createWidget'))).toEqual({ widget: 'WidgetInput', validateOnly: 'Boolean' });
  });

  it('a missing file: one line, exit 1', () => {
    expect(results.missing!.code).toBe(1);
    expect(results.missing!.stderr).toMatch(/^import: .*no-such\.proto: no such file\n$/);
  });

  const refusal = (files: Record<string, string>, main = 'main.proto') => {
    const dir = mkdtempSync(join(tmp, 'p-'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    try {
      importProto(join(dir, main), { label: main, upstream: 'u' });
    } catch (err) {
      expect(err).toBeInstanceOf(ImportError);
      return (err as Error).message;
    }
    throw new Error('not refused');
  };
  const svc = 'syntax = "proto3"; service S { rpc GetA (A) returns (A); } message A { string id = 1; }\n';

  it('an import that leaves the folder, or is absolute, is refused; one that is not there is named', () => {
    expect(refusal({ 'main.proto': `syntax = "proto3"; import "../x.proto";\n${svc.slice(18)}` })).toMatch(/import "\.\.\/x\.proto": only paths below the proto's folder are read/);
    expect(refusal({ 'main.proto': `syntax = "proto3"; import "/etc/hosts";\n${svc.slice(18)}` })).toMatch(/import "\/etc\/hosts": only paths below/);
    expect(refusal({ 'main.proto': `syntax = "proto3"; import "sub/none.proto";\n${svc.slice(18)}` })).toMatch(/import "sub\/none\.proto" not found/);
  });

  it('a syntax error names the file and line; an unknown type and a proto without services are clear', () => {
    expect(refusal({ 'main.proto': 'syntax = "proto3";\nmessage A { strin id = 1 }\n' })).toMatch(/main\.proto: not a valid proto file: .*line 2/);
    expect(refusal({ 'main.proto': 'syntax = "proto3"; service S { rpc GetA (A) returns (B); } message A { string id = 1; }\n' })).toMatch(/main\.proto: .*B/);
    expect(refusal({ 'main.proto': 'syntax = "proto3"; message A { string id = 1; }\n' })).toMatch(/main\.proto: no service in it/);
  });

  it('with several services, methods are qualified; same-named messages of two packages get distinct types', () => {
    const dir = mkdtempSync(join(tmp, 's-'));
    writeFileSync(join(dir, 'other.proto'), 'syntax = "proto3"; package b.v1; message Item { int32 n = 1; }\n');
    writeFileSync(
      join(dir, 'main.proto'),
      'syntax = "proto3"; package a.v1; import "other.proto";\nservice One { rpc GetItem (Item) returns (Item); }\nservice Two { rpc ListOther (Item) returns (b.v1.Item); }\nmessage Item { string id = 1; }\n',
    );
    const sdl = printDocument(importProto(join(dir, 'main.proto'), { label: 'main.proto', upstream: 'u' }));
    const doc = parseSdl(sdl);
    expect(directiveArgs(field(doc, 'Query', 'getItem'), 'grpc')).toMatchObject({ method: 'a.v1.One/GetItem' });
    expect(directiveArgs(field(doc, 'Query', 'listOther'), 'grpc')).toMatchObject({ method: 'a.v1.Two/ListOther', request: '{ "id": "$args.id" }' });
    expect(typeOf(field(doc, 'Query', 'getItem'))).toBe('Item');
    expect(typeOf(field(doc, 'Query', 'listOther'))).toBe('Item2');
    expect(fieldTypes(doc, 'Item2')).toEqual({ n: 'Int!' });
    expect(bindingProblems(sdl)).toEqual([]);
  });

  it('--proto-path adds a folder to look imports up in, as protoc -I does', () => {
    const dir = mkdtempSync(join(tmp, 'i-'));
    mkdirSync(join(dir, 'inc/google/api'), { recursive: true });
    mkdirSync(join(dir, 'svc'));
    writeFileSync(join(dir, 'inc/google/api/marker.proto'), 'syntax = "proto3"; package google.api; message Marker { string v = 1; }\n');
    writeFileSync(join(dir, 'svc/s.proto'), 'syntax = "proto3"; import "google/api/marker.proto"; service S { rpc GetM (google.api.Marker) returns (google.api.Marker); }\n');
    expect(() => importProto(join(dir, 'svc/s.proto'), { label: 's.proto', upstream: 'u' })).toThrow(/import "google\/api\/marker\.proto" not found .*add its root with --proto-path/);
    const doc = parseSdl(printDocument(importProto(join(dir, 'svc/s.proto'), { label: 's.proto', upstream: 'u', protoPath: [join(dir, 'inc')] })));
    expect(fieldTypes(doc, 'Marker')).toEqual({ v: 'String!' });
  });

  it('a chain of messages deeper than the type depth bound is cut with a note, not a stack overflow', () => {
    const dir = mkdtempSync(join(tmp, 'd-'));
    const msgs = Array.from({ length: 40 }, (_, i) => `message M${i} { M${i + 1} next = 1; string id = 2; }`);
    writeFileSync(join(dir, 'main.proto'), `syntax = "proto3"; service S { rpc GetM (M0) returns (M0); }\n${msgs.join('\n')}\nmessage M40 { string id = 1; }\n`);
    const sdl = printDocument(importProto(join(dir, 'main.proto'), { label: 'main.proto', upstream: 'u' }));
    expect(sdl).toContain('# import: skipped next because messages nest deeper than 32 levels here');
    expect(bindingProblems(sdl)).toEqual([]);
  });

  it('an unknown --methods name is named, with the rpcs there are', () => {
    const dir = mkdtempSync(join(tmp, 'm-'));
    writeFileSync(join(dir, 'main.proto'), svc);
    expect(() => importProto(join(dir, 'main.proto'), { label: 'main.proto', upstream: 'u', only: ['Nope'] })).toThrow(/no rpc "Nope"; it has GetA/);
  });
});
