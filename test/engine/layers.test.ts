/**
 * The engine's layers import downward only, and nothing imports in a circle:
 *
 *   core (config, context, errors, paths) ← upstream layer (transports, resilience, redis, demos)
 *   ← plugins / proxy / GraphQL ← server (assembly, reload) ← CLI and cluster
 *
 * and the engine (src/) never imports the team's domain (resolvers/, upstreams/); nor do the engine's
 * tests, which run on their own fixture domain (test/fixtures/domain/). The graph comes from madge,
 * type-only imports included.
 */
import { describe, expect, it } from 'vitest';
import madge from 'madge';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Layer of an engine file, by path; the most specific rule wins. */
const LAYERS: Array<[RegExp, number, string]> = [
  [/^src\/(config\/|http\/|context\.ts|errors\.ts|client-fault\.ts|paths\.ts|hash\.ts|load-module\.ts|telemetry\/logger\.ts|demo\/define-demo\.ts)/, 0, 'core'],
  [/^src\/(upstream|redis|demo)\//, 1, 'upstream layer'],
  [/^src\/(plugins|proxy|graphql|limits|auth|telemetry|registry)\/|^src\/domain\.ts/, 2, 'plugins, proxy and GraphQL'],
  [/^src\/(server|assemble|reload|index)\.ts/, 3, 'server'],
  [/^src\/(cli\.ts|cli\/|cluster\/)/, 4, 'CLI'],
];

function layerOf(file: string): [number, string] | undefined {
  for (const [re, rank, name] of LAYERS) if (re.test(file)) return [rank, name];
  return undefined;
}

/**
 * The import graph of the engine, the domain, the tests and the benchmarks, built once for the file
 * (madge parses every file; each test reads the part it checks). A file's edges do not depend on
 * which folders madge started from, so the engine's or the tests' part is the same graph madge
 * builds from that folder alone.
 */
let whole: Promise<Awaited<ReturnType<typeof madge>>> | undefined;
function wholeGraph(): ReturnType<typeof madge> {
  whole ??= madge(['src', 'resolvers', 'upstreams', 'test', 'bench'], {
    baseDir: ROOT,
    fileExtensions: ['ts'],
    tsConfig: `${ROOT}tsconfig.json`,
    detectiveOptions: { ts: { skipTypeImports: false }, es6: { skipTypeImports: false } },
  });
  return whole;
}

/** The files under `prefix` and what each imports. */
async function graph(prefix: string): Promise<Record<string, string[]>> {
  const all = (await wholeGraph()).obj();
  return Object.fromEntries(Object.entries(all).filter(([file]) => file.startsWith(prefix)));
}

describe('engine layering', () => {
  it('has no import cycle in the engine, the domain, the tests or the benchmarks', async () => {
    expect((await wholeGraph()).circular()).toEqual([]);
  }, 60_000);

  it('imports downward only, and never the domain', async () => {
    const g = await graph('src/');
    const files = Object.keys(g);
    expect(files.length).toBeGreaterThan(50);
    const wrong: string[] = [];
    for (const [file, deps] of Object.entries(g)) {
      const from = layerOf(file);
      if (!from) {
        wrong.push(`${file}: in no layer (add it to LAYERS)`);
        continue;
      }
      for (const dep of deps) {
        if (!dep.startsWith('src/')) {
          wrong.push(`${file} imports ${dep}, outside the engine`);
          continue;
        }
        const to = layerOf(dep);
        if (to && to[0] > from[0]) wrong.push(`${file} (${from[1]}) imports ${dep} (${to[1]})`);
      }
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('engine tests and their fixture domain never import the shipped example (only test/shop/ does)', async () => {
    const g = await graph('test/');
    expect(Object.keys(g).some((f) => f.startsWith('test/fixtures/domain/'))).toBe(true);
    const wrong: string[] = [];
    for (const [file, deps] of Object.entries(g)) {
      if (!file.startsWith('test/') || file.startsWith('test/shop/')) continue;
      for (const dep of deps) if (/^(schema|resolvers|upstreams)\//.test(dep) || dep === 'src/paths.ts') wrong.push(`${file} imports ${dep}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});
