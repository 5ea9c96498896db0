/**
 * `gateway schema check / publish / history / diff` as CI runs them, against a folder registry
 * (and a Redis one), on a private copy of the tests' fixture domain. The first publish and the
 * concurrent publishes are real child processes (the bin's exit code, and the registry's lock
 * between processes); the other invocations run the same `main` in this process, where a fresh
 * Node process per call would add only its start-up time (about a second each).
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { diffSdl } from '../src/registry/diff.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess as gw } from './helpers/cli.js';
import { copyProject, type ProjectCopy } from './helpers/project-copy.js';
import { FIXTURE_CONFIG } from './fixtures/domain/index.js';
import { REDIS_URL, dropPrefix, noRedis, testPrefix } from './helpers/redis.js';

const copies: ProjectCopy[] = [];
afterAll(() => copies.forEach((c) => c.remove()));

function project(): ProjectCopy {
  const c = copyProject();
  copies.push(c);
  return c;
}

const src = (p: ProjectCopy) => ['--schema-dir', p.schemaDir, '--resolvers-dir', p.resolversDir, '--config', FIXTURE_CONFIG];

describe('change classification', () => {
  const BASE = `
    type Query { user(id: ID!): User, users(ids: [ID!]!): [User] }
    "A user"
    type User { id: ID!, name: String!, age: Int, status: Status }
    enum Status { ACTIVE, BLOCKED }
  `;
  const cases: Array<[string, string, string, string]> = [
    ['field removed', BASE.replace('age: Int, ', ''), 'BREAKING', 'User.age'],
    ['field type changed', BASE.replace('age: Int', 'age: String'), 'BREAKING', 'User.age'],
    ['required argument added', BASE.replace('user(id: ID!)', 'user(id: ID!, tenant: String!)'), 'BREAKING', 'Query.user.tenant'],
    ['enum value added', BASE.replace('ACTIVE, BLOCKED', 'ACTIVE, BLOCKED, DELETED'), 'DANGEROUS', 'Status.DELETED'],
    ['field added', BASE.replace('age: Int', 'age: Int, nick: String'), 'SAFE', 'User.nick'],
    ['description changed', BASE.replace('"A user"', '"Someone"'), 'SAFE', 'User'],
  ];
  for (const [name, next, severity, coordinate] of cases) {
    it(`${name} → ${severity} at ${coordinate}`, async () => {
      const changes = await diffSdl(BASE, next);
      expect(changes).toContainEqual(expect.objectContaining({ severity, coordinate }));
    });
  }
});

// A spawned CLI run is a fresh Node process: allow for a loaded 2-core machine.
describe('folder registry', { timeout: 90_000 }, () => {
  const reg = mkdtempSync(join(tmpdir(), 'gw-registry-'));
  const p = project();

  it('publishes v1, and republishing the same schema is a no-op', async () => {
    const first = await runCli(['schema', 'publish', '--registry', reg, ...src(p)]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('published version 1');
    const again = await runCli(['schema', 'publish', '--registry', reg, ...src(p)]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged');
  });

  it('a safe change: check exits 0 and lists it as SAFE with its coordinate', async () => {
    p.editSchema('catalog.graphql', (t) => t.replace('inStock: Boolean!', 'inStock: Boolean!\n  sku: String'));
    const r = await gw(['schema', 'check', '--registry', reg, ...src(p)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SAFE\s+Product\.sku\s/m);
    expect((await gw(['schema', 'publish', '--registry', reg, ...src(p)])).stdout).toContain('published version 2');
  });

  it('a removed field is BREAKING: check exits 1, publish refuses, --force publishes', async () => {
    p.editSchema('users.graphql', (t) => t.replace('  role: String!\n', ''));
    const check = await gw(['schema', 'check', '--registry', reg, ...src(p)]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^BREAKING\s+User\.role\s/m);

    const json = await gw(['schema', 'check', '--registry', reg, '--json', ...src(p)]);
    const report = JSON.parse(json.stdout) as { breaking: boolean; baseVersion: number; changes: Array<{ severity: string; coordinate: string }> };
    expect(report.breaking).toBe(true);
    expect(report.baseVersion).toBe(2);
    expect(report.changes).toContainEqual(expect.objectContaining({ severity: 'BREAKING', coordinate: 'User.role' }));

    const refused = await gw(['schema', 'publish', '--registry', reg, ...src(p)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to publish/);
    const forced = await gw(['schema', 'publish', '--registry', reg, '--force', ...src(p)]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('published version 3');

    const history = await gw(['schema', 'history', '--registry', reg]);
    const rows = history.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => r[0])).toEqual(['1', '2', '3']);
    // Published from this git checkout: each version records the commit.
    for (const r of rows) expect(r[3]).toMatch(/^[0-9a-f]{12}$/);
    const diff = await gw(['schema', 'diff', '--registry', reg, '--from', '2', '--to', '3']);
    expect(diff.stdout).toMatch(/BREAKING\s+User\.role/);
  });

  it('--operations names the client operation a change breaks', async () => {
    const q = project();
    await gw(['schema', 'publish', '--registry', mkdtempSync(join(tmpdir(), 'gw-ops-')), ...src(q)]);
    const ops = join(q.dir, 'operations');
    mkdirSync(join(ops, 'admin'), { recursive: true });
    writeFileSync(join(ops, 'profile.graphql'), 'query Profile($id: ID!) { user(id: $id) { ...U } }\nfragment U on User { id name }\n');
    writeFileSync(join(ops, 'admin', 'roles.graphql'), 'query AdminRoles { users(ids: ["1"]) { id role } }\n');
    q.editSchema('users.graphql', (t) => t.replace('  role: String!\n', ''));
    const reg2 = mkdtempSync(join(tmpdir(), 'gw-ops-'));
    const base = copyProject();
    copies.push(base);
    await gw(['schema', 'publish', '--registry', reg2, ...src(base)]);
    const r = await gw(['schema', 'check', '--registry', reg2, '--operations', ops, ...src(q)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BROKEN\s+operation AdminRoles \(.*roles\.graphql\)/);
    expect(r.stdout).not.toMatch(/operation Profile/);
    expect(r.stdout).toContain('2 client operation(s) checked, 1 broken');
    expect(r.stdout).toMatch(/BREAKING\s+User\.role\s.*\(used by AdminRoles\)/);
  });

  it('a breaking change no listed operation uses is reported as such; persisted JSON counts as operations; Markdown summary', async () => {
    const q = project();
    const reg3 = mkdtempSync(join(tmpdir(), 'gw-ops-'));
    await gw(['schema', 'publish', '--registry', reg3, ...src(q)]);
    const persisted = join(q.dir, 'persisted.json');
    writeFileSync(persisted, JSON.stringify({ abc123: 'query Names { users(ids: ["1"]) { name } }' }));
    q.editSchema('catalog.graphql', (t) => t.replace('  inStock: Boolean!\n', ''));
    const md = join(q.dir, 'summary.md');
    const r = await gw(['schema', 'check', '--registry', reg3, '--operations', persisted, '--markdown', md, ...src(q)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BREAKING\s+Product\.inStock\s.*\(no listed operation uses it\)/);
    expect(r.stdout).toContain('1 client operation(s) checked, 0 broken');
    const summary = readFileSync(md, 'utf8');
    expect(summary).toContain('| BREAKING | `Product.inStock` |');
  });

  it('exits 2 naming the file when the schema does not compose', async () => {
    const bad = project();
    bad.editSchema('orders.graphql', (t) => `${t}\ntype Broken {`);
    const r = await gw(['schema', 'check', '--registry', reg, ...src(bad)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/orders\.graphql/);
  });

  it('concurrent publishes of different schemas get distinct versions', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'gw-race-'));
    const a = project();
    const b = project();
    a.editSchema('catalog.graphql', (t) => t.replace('inStock: Boolean!', 'inStock: Boolean!\n  a: String'));
    b.editSchema('catalog.graphql', (t) => t.replace('inStock: Boolean!', 'inStock: Boolean!\n  b: String'));
    // --force: whichever lands second drops the other's field, which is (rightly) breaking.
    const [ra, rb] = await Promise.all([
      runCli(['schema', 'publish', '--registry', fresh, '--force', ...src(a)]),
      runCli(['schema', 'publish', '--registry', fresh, '--force', ...src(b)]),
    ]);
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    const versions = [ra.stdout, rb.stdout].map((s) => /published version (\d+)/.exec(s)?.[1]).sort();
    expect(versions).toEqual(['1', '2']);
  });
});

describe.skipIf(noRedis)('redis registry', { timeout: 60_000 }, () => {
  const prefix = testPrefix('registry');
  afterAll(() => dropPrefix(prefix));
  const reg = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`;

  it('publishes, detects no-op and breaking changes', async () => {
    const p = project();
    expect((await gw(['schema', 'publish', '--registry', reg, ...src(p)])).stdout).toContain('published version 1');
    expect((await gw(['schema', 'publish', '--registry', reg, ...src(p)])).stdout).toContain('unchanged');
    p.editSchema('catalog.graphql', (t) => t.replace('  inStock: Boolean!\n', ''));
    const r = await gw(['schema', 'check', '--registry', reg, ...src(p)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BREAKING\s+Product\.inStock/);
  });
});
