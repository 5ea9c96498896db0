/**
 * A binding that cannot work does not compose: each problem names the file, line and column of
 * the directive argument at fault. Each case breaks one thing in a copy of the bindings-only
 * fixture's SDL; the position expected is where the broken text starts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeSchema, CompositionError } from '../../src/graphql/compose.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { ONLY_RESOLVERS_DIR, ONLY_SCHEMA_DIR, STOCK_PROTO } from '../fixtures/bindings/upstreams.js';

const SDL = readFileSync(join(ONLY_SCHEMA_DIR, 'library.graphql'), 'utf8');
const UPSTREAMS = {
  people: { protocol: 'http' as const },
  stock: { protocol: 'grpc' as const, proto: STOCK_PROTO },
};
const VALUES = { tenant: 'acme', warehouse: 'north' };

const tmp = mkdtempSync(join(tmpdir(), 'gw-bindings-compose-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** Writes the SDL to a fresh schema folder and composes it; returns the error (or undefined). */
async function compose(sdl: string, opts: { upstreams?: object; bindingValues?: Record<string, string> } = {}): Promise<{ error: CompositionError | undefined; file: string }> {
  const dir = join(tmp, `s${n++}`);
  mkdirSync(dir);
  const file = join(dir, 'library.graphql');
  writeFileSync(file, sdl);
  try {
    await composeSchema({ schemaDir: dir, resolversDir: ONLY_RESOLVERS_DIR, upstreams: ('upstreams' in opts ? opts.upstreams : UPSTREAMS) as never, bindingValues: 'bindingValues' in opts ? opts.bindingValues : VALUES, root: ROOT });
    return { error: undefined, file: relative(ROOT, file) };
  } catch (err) {
    if (err instanceof CompositionError) return { error: err, file: relative(ROOT, file) };
    throw err;
  }
}

/** 1-based line and column of `index` in `text`. */
function position(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

interface Case {
  what: string;
  find: string;
  replace: string;
  /** Where the error points: the last occurrence of this text before the end of the change. */
  at: string;
  message: RegExp;
}

const CASES: Case[] = [
  { what: 'an unknown upstream', find: 'author(id: ID!): Author\n    @http(upstream: "people"', replace: 'author(id: ID!): Author\n    @http(upstream: "peple"', at: '"peple"', message: /Query\.author: binds to upstream "peple", which is not configured/ },
  { what: 'the wrong protocol', find: '@grpc(upstream: "stock"', replace: '@grpc(upstream: "people"', at: '"people"', message: /upstream "people" is http, not grpc/ },
  { what: 'a template variable that is not an argument', find: 'path: "/authors/{$args.id}"', replace: 'path: "/authors/{$args.key}"', at: '"/authors/{$args.key}"', message: /\$args\.key: Query\.authorDirect has no argument "key"/ },
  { what: 'a template variable that is not a parent field', find: 'key: "$parent.authorId"', replace: 'key: "$parent.writerId"', at: '{ form:', message: /\$parent\.writerId: Book has no field "writerId"/ },
  { what: 'a reference of an unknown kind', find: 'path: "/authors/{$args.id}"', replace: 'path: "/authors/{$arg.id}"', at: '"/authors/{$arg.id}"', message: /unknown reference "\$arg\.id"/ },
  { what: 'an unknown $config key', find: 'X-Tenant: {$config.tenant}', replace: 'X-Tenant: {$config.tennant}', at: '["', message: /graphql\.bindingValues has no key "tennant" \(keys: tenant, warehouse\)/ },
  { what: 'a gRPC method not in the proto', find: 'method: "stock.v1.Stock/GetLevels"', replace: 'method: "stock.v1.Stock/GetLevel"', at: '"stock.v1.Stock/GetLevel"', message: /stock\.v1\.Stock has no method GetLevel \(methods: GetLevels\)/ },
  { what: 'a gRPC service the upstream does not serve', find: 'method: "stock.v1.Stock/GetLevels"', replace: 'method: "stock.v2.Stock/GetLevels"', at: '"stock.v2.Stock/GetLevels"', message: /serves stock\.v1\.Stock, not stock\.v2\.Stock/ },
  { what: 'a request field not in the message', find: '{ "warehouse": "{$config.warehouse}" }', replace: '{ "store": "{$config.warehouse}" }', at: '"""', message: /request: GetLevelsRequest has no field "store"/ },
  { what: 'a batch request field not in the message', find: 'param: "bookIds"', replace: 'param: "books"', at: '{ form:', message: /the request of GetLevels has no field "books"/ },
  { what: 'a matchOn field that does not exist', find: 'matchOn: "bookId"', replace: 'matchOn: "book"', at: '{ form:', message: /matchOn "book" is not a field of StockLevel/ },
  { what: 'a mapped field that does not exist', find: 'map: ["name: full_name"])\n  authorDirect', replace: 'map: ["fullName: full_name"])\n  authorDirect', at: '["fullName: full_name"]', message: /map target "fullName" is not a field of Author/ },
  { what: 'a batch key that is a list where one value is needed', find: 'author(id: ID!): Author', replace: 'author(id: [ID!]!): Author', at: '', message: /batch key \$args\.id is a \[ID!\]!, but the field returns one Author/ },
  { what: 'a list field with a single key and no many', find: 'key: "$args.ids"', replace: 'key: "$args.ids.x"', at: '', message: /\$args\.ids\.x: \[ID!\]! has no field "x"/ },
  { what: 'many on a field that is not a list', find: 'key: "$parent.authorId", matchOn: "id" }', replace: 'key: "$parent.authorId", matchOn: "id", many: true }', at: '', message: /Book\.author: many: true collects a list, but the field returns Author/ },
  { what: 'an unknown directive argument', find: 'path: "/authors/{$args.id}"', replace: 'path: "/authors/{$args.id}", timeoutMs: 5', at: 'timeoutMs', message: /@http has no argument "timeoutMs"/ },
  { what: 'an unknown batch field', find: 'param: "authorId", key', replace: 'param: "authorId", keys: "$parent.id", key', at: 'keys', message: /batch has no field "keys"/ },
  { what: 'a body batch on GET', find: 'method: "POST", path: "/authors/search"', replace: 'method: "GET", path: "/authors/search"', at: '', message: /a GET call has no body/ },
  { what: 'a batch body that is not an object', find: 'body: """{ "tenant": "{$config.tenant}" }"""', replace: 'body: """["x"]"""', at: '"""["x"]', message: /with form BODY_FIELD the body must be a JSON object, to carry "ids"/ },
  { what: 'a header the gateway owns', find: 'X-Tenant: {$config.tenant}', replace: 'X-User-Id: {$args.x}', at: '["', message: /header x-user-id is set by the gateway/ },
  { what: 'a gateway header in another spelling', find: 'X-Tenant: {$config.tenant}', replace: 'X_Forwarded.For: {$config.tenant}', at: '["', message: /header x_forwarded\.for is set by the gateway/ },
  { what: 'a hop-by-hop header in another spelling', find: 'X-Tenant: {$config.tenant}', replace: 'Transfer_Encoding: {$config.tenant}', at: '["', message: /header transfer_encoding is set by the gateway/ },
  { what: 'a binding on an interface field', find: 'type StockLevel {', replace: 'interface Named {\n  name: String @http(upstream: "people", path: "/x")\n}\n\ntype StockLevel {', at: '@http', message: /Named\.name: an interface field cannot be bound/ },
  { what: 'a dot segment in a path', find: 'path: "/authors/{$args.id}"', replace: 'path: "/authors/../{$args.id}"', at: '"/authors/../', message: /dot segment in path/ },
];

describe('binding composition errors name the file, line and column', () => {
  it('the fixture composes as it is', async () => {
    const { error } = await compose(SDL);
    expect(error).toBeUndefined();
  });

  it.each(CASES)('$what', async (c) => {
    expect(SDL).toContain(c.find);
    const sdl = SDL.replace(c.find, c.replace);
    const { error, file } = await compose(sdl);
    expect(error, 'expected a CompositionError').toBeDefined();
    expect(error!.message).toMatch(c.message);
    expect(error!.file).toBe(file);
    if (c.at) {
      // The last occurrence of `at` that starts before the end of the change.
      const index = sdl.lastIndexOf(c.at, sdl.indexOf(c.replace) + c.replace.length - 1);
      expect(error!.position).toEqual(position(sdl, index));
    } else {
      // The directive or argument it points at is on the changed line or the next one.
      const line = position(sdl, sdl.indexOf(c.replace)).line;
      expect(error!.position!.line - line).toBeGreaterThanOrEqual(0);
      expect(error!.position!.line - line).toBeLessThanOrEqual(2);
    }
    expect(error!.message.startsWith(`${file}:${error!.position!.line}:${error!.position!.column}: `)).toBe(true);
  });

  it('without a config, names and protocols are not checked but the proto and the schema still are', async () => {
    const { error } = await compose(SDL.replace('@http(upstream: "people"', '@http(upstream: "elsewhere"'), { upstreams: undefined as never, bindingValues: undefined as never });
    expect(error?.message).toBeUndefined();
  });

  it('`schema print` fails with the position (exit 2), and prints the public schema without bindings', async () => {
    const dir = join(tmp, 'cli');
    mkdirSync(dir);
    writeFileSync(join(dir, 'library.graphql'), SDL.replace('matchOn: "bookId"', 'matchOn: "book"'));
      const config = join(tmp, 'gateway.yaml');
    writeFileSync(config, [
      'graphql: { bindingValues: { tenant: acme, warehouse: north } }',
      'upstreams:',
      '  people: { protocol: http, targets: [ { url: "http://127.0.0.1:1" } ] }',
      `  stock: { protocol: grpc, proto: ${STOCK_PROTO}, targets: [ { url: "127.0.0.1:1" } ] }`,
    ].join('\n'));
    const [bad, good] = await Promise.all([
      runCli(['schema', 'print', '--schema-dir', dir, '--resolvers-dir', ONLY_RESOLVERS_DIR, '--config', config]),
      runCli(['schema', 'print']),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/library\.graphql:\d+:\d+: Book\.level: matchOn "book"/);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/user\(id: ID!\): User/);
    expect(good.stdout).not.toMatch(/@http|@grpc|BindingBatch/);
  });
});
