/**
 * Bound fields against real upstreams (HTTP and gRPC on port 0): one call per batch endpoint per
 * level for lists, nested lists and aliases, each key once, results matched by key, missing keys
 * null or [], 404 → null, upstream errors as UPSTREAM_* with partial data, values encoded inside
 * their path segment, and hand-written resolvers winning over bindings (the mixed fixture).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { startGateway, type RunningGateway } from '../../src/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { configFrom, gqlClient, type TestGateway } from '../helpers/gateway.js';
import { MIXED_RESOLVERS_DIR, MIXED_SCHEMA_DIR, ONLY_RESOLVERS_DIR, ONLY_SCHEMA_DIR, libraryConfig, startLibraryUpstreams, type LibraryUpstreams } from '../fixtures/bindings/upstreams.js';

let up: LibraryUpstreams;
let only: RunningGateway;
let mixed: RunningGateway;
let gql: TestGateway['gql'];
let gqlMixed: TestGateway['gql'];

async function start(schemaDir: string, resolversDir: string): Promise<RunningGateway> {
  return startGateway({ config: configFrom(libraryConfig(up.targets)), schemaDir, resolversDir, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) });
}

beforeAll(async () => {
  up = await startLibraryUpstreams();
  [only, mixed] = await Promise.all([start(ONLY_SCHEMA_DIR, ONLY_RESOLVERS_DIR), start(MIXED_SCHEMA_DIR, MIXED_RESOLVERS_DIR)]);
  gql = gqlClient(only.url);
  gqlMixed = gqlClient(mixed.url);
});
afterAll(async () => {
  await Promise.all([only?.close(), mixed?.close()]);
  await up?.close();
});
beforeEach(() => up.reset());

describe('batched bindings', () => {
  it('a list, its nested lists and a gRPC level below them: one call per batch endpoint per level, each key once', async () => {
    const r = await gql('{ authors(ids: ["a1", "a2", "a9", "a3"]) { id name books { title authorId level { count } author { id } } } }');
    expect(r.body.errors).toBeUndefined();
    // In the order of ids, matched by key although the upstream answers in reverse; unknown id → null.
    expect(r.body.data.authors.map((a: any) => a?.name ?? null)).toEqual(['Ursula Le Guin', 'Stanisław Lem', null, 'Octavia Butler']);
    expect(r.body.data.authors[0].books.map((b: any) => [b.title, b.level?.count ?? null])).toEqual([['The Dispossessed', 3], ['The Lathe of Heaven', 0]]);
    // b4 has no stock level: null; a3's book's author is a3 (served from the first level's batch).
    expect(r.body.data.authors[3].books).toEqual([{ title: 'Kindred', authorId: 'a3', level: null, author: { id: 'a3' } }]);
    const authorCalls = up.people.callsTo('/authors');
    expect(authorCalls).toHaveLength(1);
    expect(authorCalls[0]!.query.get('ids')!.split(',').sort()).toEqual(['a1', 'a2', 'a3', 'a9']);
    const bookCalls = up.people.callsTo('/books');
    expect(bookCalls).toHaveLength(1);
    expect(bookCalls[0]!.query.getAll('authorId').sort()).toEqual(['a1', 'a2', 'a3']);
    expect(bookCalls[0]!.headers['x-tenant']).toBe('acme');
    expect(up.stock.calls).toHaveLength(1);
    expect([...up.stock.calls[0]!.request.bookIds].sort()).toEqual(['b1', 'b2', 'b3', 'b4']);
    expect(up.stock.calls[0]!.request.warehouse).toBe('north');
  });

  it('aliases and single-key fields share the batch with list fields: one call, each id once', async () => {
    const r = await gql('{ x: author(id: "a1") { name } y: author(id: "a2") { name } z: authors(ids: ["a2", "a4", "a1"]) { id } w: author(id: "a1") { id } }');
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.x.name).toBe('Ursula Le Guin');
    expect(r.body.data.z.map((a: any) => a.id)).toEqual(['a2', 'a4', 'a1']);
    const calls = up.people.callsTo('/authors');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.query.get('ids')!.split(',').sort()).toEqual(['a1', 'a2', 'a4']);
  });

  it('many: a key without items gets []; a body batch with select splits at maxSize', async () => {
    const r = await gql('{ searchAuthors(ids: ["a4", "a1", "a2"]) { id name books { id } } }');
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.searchAuthors.map((a: any) => a.name)).toEqual(['Italo Calvino', 'Ursula Le Guin', 'Stanisław Lem']);
    expect(r.body.data.searchAuthors[0].books).toEqual([]);
    const calls = up.people.callsTo('/authors/search', 'POST');
    expect(calls).toHaveLength(2);
    expect(calls.map((c: any) => (c.body.ids as string[]).length).sort()).toEqual([1, 2]);
    expect(calls.every((c: any) => c.body.tenant === 'acme')).toBe(true);
  });

  it('loaders live for one request: the next request calls again', async () => {
    await gql('{ author(id: "a1") { id } }');
    await gql('{ author(id: "a1") { id } }');
    expect(up.people.callsTo('/authors')).toHaveLength(2);
  });
});

describe('unbatched bindings', () => {
  it('a path value stays one segment, whatever it holds; 404 → null', async () => {
    const r = await gql('{ a: authorDirect(id: "a2") { name } b: authorDirect(id: "../admin?x=1#y") { name } c: authorDirect(id: "..") { name } }');
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data).toEqual({ a: { name: 'Stanisław Lem' }, b: null, c: null });
    const urls = up.people.calls.map((c) => c.url).sort();
    expect(urls).toEqual(['/authors/%2E%2E', '/authors/..%2Fadmin%3Fx%3D1%23y', '/authors/a2']);
  });

  it('a null query value leaves its parameter out; a list answer maps each element', async () => {
    const r = await gql('{ booksBy(author: "a1") { id authorId } }');
    expect(r.body.data.booksBy).toEqual([{ id: 'b1', authorId: 'a1' }, { id: 'b2', authorId: 'a1' }]);
    expect(up.people.calls[0]!.url).toBe('/books?authorId=a1');
    await gql('{ booksBy(author: "a&genre=x", genre: "sci fi") { id } }');
    expect(up.people.calls[1]!.url).toBe('/books?authorId=a%26genre%3Dx&genre=sci%20fi');
  });

  it('a mutation body reads the identity, and the identity headers go upstream', async () => {
    const token = await new SignJWT({ sub: 'a4' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('bindings-test-secret-bindings-test-secret!'));
    const r = await gql('mutation { addBook(title: "If on a winter\'s night") { id title authorId author { name } } }', undefined, { authorization: `Bearer ${token}` });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.addBook).toEqual({ id: 'b9', title: "If on a winter's night", authorId: 'a4', author: { name: 'Italo Calvino' } });
    const post = up.people.callsTo('/books', 'POST')[0]!;
    expect(post.body).toEqual({ title: "If on a winter's night", by: 'a4', note: 'added by a4' });
    expect(post.headers['x-user-id']).toBe('a4');
    expect(post.headers['x-request-id']).toBeTruthy();
  });
});

describe('the same plugin chain', () => {
  it('field authorization refuses a bound mutation before any upstream call', async () => {
    const r = await gql('mutation { addBook(title: "x") { id } }');
    expect(r.body.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    expect(up.people.calls).toHaveLength(0);
  });

  it('a per-field limit counts every resolution of a bound field, aliases included', async () => {
    const r = await gql('{ a: limitedAuthor(id: "a1") { id } b: limitedAuthor(id: "a2") { id } c: limitedAuthor(id: "a3") { id } }');
    const codes = (r.body.errors ?? []).map((e) => e.extensions?.code);
    expect(codes).toEqual(['RATE_LIMITED']);
    expect(up.people.calls.filter((c) => c.path.startsWith('/authors/'))).toHaveLength(2);
  });
});

describe('failures', () => {
  it('an upstream 500 is UPSTREAM_ERROR on the bound fields, with partial data', async () => {
    up.people.failStatus = 500;
    const r = await gql('{ author(id: "a1") { name } authors(ids: ["a2"]) { id } }');
    expect(r.body.data.author).toBeNull();
    const codes = r.body.errors!.map((e) => [e.path?.join('.'), e.extensions?.code]);
    expect(codes).toContainEqual(['author', 'UPSTREAM_ERROR']);
    expect(codes).toContainEqual(['authors.0', 'UPSTREAM_ERROR']);
    expect(up.people.callsTo('/authors')).toHaveLength(1);
  });

  it('the gRPC level fails alone: books still arrive', async () => {
    await Promise.all([only.close()]);
    up.reset();
    // A gateway whose stock upstream points nowhere.
    const cfg = libraryConfig({ ...up.targets, stock: '127.0.0.1:1' });
    only = await startGateway({ config: configFrom(cfg), schemaDir: ONLY_SCHEMA_DIR, resolversDir: ONLY_RESOLVERS_DIR, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) });
    gql = gqlClient(only.url);
    const r = await gql('{ author(id: "a2") { books { title level { count } } } }');
    expect(r.body.data.author.books).toEqual([{ title: 'Solaris', level: null }]);
    expect(r.body.errors![0]!.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('mixed: bindings and resolvers', () => {
  it('a hand-written resolver wins over the binding on the same field; a computed field reads bound data', async () => {
    const r = await gqlMixed('{ author(id: "a2") { name label books { title } } authors(ids: ["a1"]) { label } }');
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.author.name).toBe('Stanisław Lem (by hand)');
    expect(r.body.data.author.label).toBe('Stanisław Lem (by hand) (PL)');
    expect(r.body.data.authors[0].label).toBe('Ursula Le Guin (US)');
    expect(up.people.callsTo('/authors/a2')).toHaveLength(1);
    // Only `authors` used the batch endpoint.
    expect(up.people.callsTo('/authors').map((c) => c.query.get('ids'))).toEqual(['a1']);
    expect(up.people.callsTo('/books')).toHaveLength(1);
  });

  it('clients never see the binding directives or their types', async () => {
    const r = await gqlMixed('{ b: __type(name: "BindingBatch") { name } f: __type(name: "BindingBatchForm") { name } }');
    expect(r.body.data).toEqual({ b: null, f: null });
    const s = await gqlMixed('{ __schema { directives { name } } }');
    const names = s.body.data.__schema.directives.map((d: any) => d.name);
    expect(names).toContain('skip');
    expect(names).not.toContain('http');
    expect(names).not.toContain('grpc');
  });
});
