/**
 * Schema composition problems stop start-up with a message naming the file; `schema print`
 * prints the composed SDL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeSchema, CompositionError } from '../src/graphql/compose.js';
import { ROOT, runCli } from './helpers/cli.js';
import { copyProject as copyFixture, type ProjectCopy } from './helpers/project-copy.js';
import { FIXTURE_CLI_ARGS, FIXTURE_CONFIG, FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR } from './fixtures/domain/index.js';

const made: ProjectCopy[] = [];
afterAll(() => {
  for (const p of made) p.remove();
});

/** A private copy of the fixture domain to break. */
function copyProject(): ProjectCopy {
  const p = copyFixture();
  made.push(p);
  return p;
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
  it('the fixture domain composes with the types its resolvers bind', async () => {
    const c = await composeSchema({ schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR, upstreams: UPSTREAMS, root: ROOT });
    for (const name of ['Query', 'Mutation', 'User', 'Order', 'OrderItem', 'Product', 'CreateOrderInput', 'OrderItemInput']) {
      expect(c.schema.getType(name), name).toBeDefined();
    }
    expect(Object.keys(c.schema.getQueryType()!.getFields())).toEqual(expect.arrayContaining(['me', 'user', 'users', 'product']));
  });

  it('an SDL syntax error names the .graphql file', async () => {
    const dirs = copyProject();
    dirs.editSchema('orders.graphql', (t) => t.replace('type Order {', 'type Order {{'));
    const err = await compositionError(dirs);
    expect(err.file).toMatch(/schema[/\\]orders\.graphql$/);
  });

  it('a resolver for a field the schema does not define names the resolver file', async () => {
    const dirs = copyProject();
    dirs.editResolvers('catalog.ts', (t) => t.replace('Product: {', 'Product: {\n      colour: () => "red",'));
    const err = await compositionError(dirs);
    expect(err.file).toMatch(/resolvers[/\\]catalog\.ts$/);
    expect(err.message).toContain('Product.colour');
  });

  it('a resolver module using an upstream that is not configured names the file', async () => {
    const dirs = copyProject();
    const err = await compositionError(dirs, ['users', 'orders']);
    expect(err.file).toMatch(/resolvers[/\\]catalog\.ts$/);
    expect(err.message).toContain('"catalog"');
  });
});

describe('gateway schema print', () => {
  it('prints the composed SDL of the given schema and resolvers', async () => {
    const r = await runCli(['schema', 'print', ...FIXTURE_CLI_ARGS, '--config', FIXTURE_CONFIG]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/type Product \{[^}]*price: Float!/);
    expect(r.stdout).toMatch(/createOrder\(input: CreateOrderInput!\): Order!/);
  });

  it('exits 2 naming the file when the schema does not compose', async () => {
    const dirs = copyProject();
    writeFileSync(join(dirs.schemaDir, 'users.graphql'), 'type User { id: ID! ');
    const r = await runCli(['schema', 'print', '--schema-dir', dirs.schemaDir, '--resolvers-dir', dirs.resolversDir, '--config', FIXTURE_CONFIG]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/users\.graphql/);
  });
});
