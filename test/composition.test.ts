/**
 * Schema composition problems stop start-up with a message naming the file; `schema print`
 * prints the composed SDL.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeSchema, CompositionError } from '../src/graphql/compose.js';
import { ROOT, runCli } from './helpers/cli.js';

/** A private copy of schema/ and resolvers/ to break. Resolver imports are rewritten to the repo. */
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function copyProject(): { schemaDir: string; resolversDir: string } {
  const dir = mkdtempSync(join(ROOT, 'test', '.tmp-compose-'));
  made.push(dir);
  const schemaDir = join(dir, 'schema');
  const resolversDir = join(dir, 'resolvers');
  cpSync(join(ROOT, 'schema'), schemaDir, { recursive: true });
  cpSync(join(ROOT, 'resolvers'), resolversDir, { recursive: true });
  return { schemaDir, resolversDir };
}

const UPSTREAMS = ['users', 'orders', 'catalog'];

async function compositionError(dirs: { schemaDir: string; resolversDir: string }, upstreams = UPSTREAMS): Promise<CompositionError> {
  try {
    await composeSchema({ ...dirs, upstreams, root: ROOT });
  } catch (err) {
    if (err instanceof CompositionError) return err;
    throw err;
  }
  throw new Error('expected a CompositionError');
}

describe('composition', () => {
  it('the shipped schema composes with every CONTRACT type', async () => {
    const c = await composeSchema({ schemaDir: join(ROOT, 'schema'), resolversDir: join(ROOT, 'resolvers'), upstreams: UPSTREAMS, root: ROOT });
    for (const name of ['Query', 'Mutation', 'User', 'Order', 'OrderItem', 'Product', 'CreateOrderInput', 'OrderItemInput']) {
      expect(c.schema.getType(name), name).toBeDefined();
    }
    expect(Object.keys(c.schema.getQueryType()!.getFields())).toEqual(expect.arrayContaining(['me', 'user', 'users', 'order', 'product']));
  });

  it('an SDL syntax error names the .graphql file', async () => {
    const dirs = copyProject();
    writeFileSync(join(dirs.schemaDir, 'orders.graphql'), readFileSync(join(dirs.schemaDir, 'orders.graphql'), 'utf8').replace('type Order {', 'type Order {{'));
    const err = await compositionError(dirs);
    expect(err.file).toMatch(/schema[/\\]orders\.graphql$/);
  });

  it('a resolver for a field the schema does not define names the resolver file', async () => {
    const dirs = copyProject();
    const file = join(dirs.resolversDir, 'catalog.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\.\.\/src\//g, '../../../src/').replace(/\.\.\/upstreams\//g, '../../../upstreams/').replace('Product: {', 'Product: {\n      colour: () => "red",'));
    const err = await compositionError(dirs);
    expect(err.file).toMatch(/resolvers[/\\]catalog\.ts$/);
    expect(err.message).toContain('Product.colour');
  });

  it('a resolver module using an upstream that is not configured names the file', async () => {
    const dirs = copyProject();
    for (const f of ['users.ts', 'orders.ts', 'catalog.ts']) {
      const file = join(dirs.resolversDir, f);
      writeFileSync(file, readFileSync(file, 'utf8').replace(/\.\.\/src\//g, '../../../src/').replace(/\.\.\/upstreams\//g, '../../../upstreams/'));
    }
    const err = await compositionError(dirs, ['users', 'orders']);
    expect(err.file).toMatch(/resolvers[/\\]catalog\.ts$/);
    expect(err.message).toContain('"catalog"');
  });
});

describe('gateway schema print', () => {
  it('prints the SDL with the CONTRACT types', async () => {
    const r = await runCli(['schema', 'print']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/type Product \{[^}]*price: Float!/);
    expect(r.stdout).toMatch(/createOrder\(input: CreateOrderInput!\): Order!/);
  });

  it('exits 2 naming the file when the schema does not compose', async () => {
    const dirs = copyProject();
    writeFileSync(join(dirs.schemaDir, 'users.graphql'), 'type User { id: ID! ');
    const r = await runCli(['schema', 'print', '--schema-dir', dirs.schemaDir, '--resolvers-dir', dirs.resolversDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/users\.graphql/);
  });
});
