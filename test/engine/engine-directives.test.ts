/**
 * The engine declares @authenticated, @requiresRole, @rateLimit and @cost itself: a schema folder
 * without a copy composes and prints them; a folder that still declares them identically (as
 * every folder had to before) composes to the same public schema.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeSchema } from '../../src/graphql/compose.js';
import { ENGINE_DIRECTIVES_SDL } from '../../src/graphql/engine-directives.js';

const tmp = mkdtempSync(join(tmpdir(), 'gw-engine-directives-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SDL = 'type Query { secret: String @authenticated @requiresRole(roles: ["admin"]) @rateLimit(points: 2, durationSec: 60) @cost(weight: 3) }';

async function compose(name: string, files: Record<string, string>) {
  const schemaDir = join(tmp, name, 'schema');
  const resolversDir = join(tmp, name, 'resolvers');
  mkdirSync(schemaDir, { recursive: true });
  mkdirSync(resolversDir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(schemaDir, f), text);
  return composeSchema({ schemaDir, resolversDir, root: tmp });
}

describe('engine directives', () => {
  it('compose without a copy in the schema folder, and stay in the public schema', async () => {
    const c = await compose('bare', { 'a.graphql': SDL });
    for (const d of ['authenticated', 'requiresRole', 'rateLimit', 'cost']) expect(c.schema.getDirective(d), d).toBeDefined();
    expect(c.sdl).toContain('directive @requiresRole(roles: [String!]!) on FIELD_DEFINITION | OBJECT');
  });

  it('a folder that still declares them identically composes to the same schema', async () => {
    const bare = await compose('bare2', { 'a.graphql': SDL });
    const copied = await compose('copied', { 'a.graphql': SDL, 'directives.graphql': ENGINE_DIRECTIVES_SDL });
    expect(copied.sdl).toBe(bare.sdl);
  });
});
