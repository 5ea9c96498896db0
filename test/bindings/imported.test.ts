/**
 * What `gateway import` prints is a working start: the SDL imported from an OpenAPI document and
 * from a .proto composes with the engine's binding declarations as printed, and a gateway serving
 * it calls the real upstreams (HTTP and gRPC on port 0) with what the bindings say.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../src/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { configFrom, gqlClient, type TestGateway } from '../helpers/gateway.js';
import { runCliInProcess } from '../helpers/cli.js';
import { FIXTURE_DIR, STOCK_PROTO, libraryConfig, startLibraryUpstreams, type LibraryUpstreams } from '../fixtures/bindings/upstreams.js';

const tmp = mkdtempSync(join(tmpdir(), 'gw-imported-'));
let up: LibraryUpstreams;
let gw: RunningGateway;
let gql: TestGateway['gql'];

beforeAll(async () => {
  const openapi = await runCliInProcess(['import', 'openapi', join(FIXTURE_DIR, 'people.openapi.yaml'), '--upstream', 'people', '--operations', 'getAuthor']);
  const proto = await runCliInProcess(['import', 'proto', STOCK_PROTO, '--upstream', 'stock']);
  expect(openapi.code, openapi.stderr).toBe(0);
  expect(proto.code, proto.stderr).toBe(0);
  const schemaDir = join(tmp, 'schema');
  const resolversDir = join(tmp, 'resolvers');
  mkdirSync(schemaDir);
  mkdirSync(resolversDir);
  // The two printed files go in as they are; only `type Query` of the second becomes an extension.
  writeFileSync(join(schemaDir, 'people.graphql'), openapi.stdout);
  writeFileSync(join(schemaDir, 'stock.graphql'), proto.stdout.replace(/^type Query \{/m, 'extend type Query {'));
  up = await startLibraryUpstreams();
  gw = await startGateway({ config: configFrom(libraryConfig(up.targets)), schemaDir, resolversDir, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) });
  gql = gqlClient(gw.url);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('imported bindings, served', () => {
  it('the OpenAPI operation and the gRPC method answer through their upstreams', async () => {
    const r = await gql('{ getAuthor(id: "a2") { id fullName country } getLevels(bookIds: ["b3", "b1"], warehouse: "north") { levels { bookId count } } }');
    expect(r.body.errors).toBeUndefined();
    // The wire name full_name arrives through the `map` the importer wrote.
    expect(r.body.data.getAuthor).toEqual({ id: 'a2', fullName: 'Stanisław Lem', country: 'PL' });
    expect(r.body.data.getLevels.levels).toEqual([{ bookId: 'b3', count: 7 }, { bookId: 'b1', count: 3 }]);
    expect(up.people.callsTo('/authors/a2')).toHaveLength(1);
    expect(up.stock.calls).toHaveLength(1);
    expect(up.stock.calls[0]!.request).toMatchObject({ bookIds: ['b3', 'b1'], warehouse: 'north' });
  });

  it('a 404 of the imported single-object operation is null, and the binding directives stay hidden', async () => {
    const r = await gql('{ getAuthor(id: "nobody") { id } }');
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.getAuthor).toBeNull();
    const intro = await gql('{ __schema { directives { name } } }');
    expect(intro.body.data.__schema.directives.map((d: { name: string }) => d.name)).not.toContain('http');
  });
});
