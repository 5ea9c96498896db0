/**
 * `config check` lists every problem of a file in one run: schema errors and cross-field
 * checks alike, each with its key path and the line of the file it sits on.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LineCounter, parseDocument, stringify, type Node } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type ConfigProblem } from '../src/config/load.js';
import { indexKeyLines } from '../src/config/key-lines.js';
import { runCli } from './helpers/cli.js';

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    parseConfig(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** Four mistakes of four kinds; before, the route's unknown upstream only showed once the rest was fixed. */
const FOUR_MISTAKES = [
  'server:', //                                   1
  '  port: 4000', //                              2
  '  drainMS: 5', //                              3  typo key
  'graphql:', //                                  4
  '  maxDepth: deep', //                          5  wrong type
  'upstreams:', //                                6
  '  users:', //                                  7
  '    targets: [ { url: "http://h:1" } ]', //    8
  '    timeoutMs: 100', //                        9
  '    timeoutMs: 200', //                        10 duplicate key
  'routes:', //                                   11
  '  - name: r1', //                              12
  '    match: { pathPrefix: /api }', //           13
  '    upstream: userz', //                       14 unknown upstream
  '',
].join('\n');

describe('every problem in one run, each with its line', () => {
  it('a typo key, a wrong type, a duplicate key and an unknown upstream are all reported', () => {
    const p = problemsOf(FOUR_MISTAKES);
    const byPath = new Map(p.map((x) => [x.path, x]));
    expect(byPath.get('server.drainMS')).toMatchObject({ message: 'unknown key', line: 3 });
    expect(byPath.get('graphql.maxDepth')?.line).toBe(5);
    expect(byPath.get('graphql.maxDepth')?.message).toMatch(/number/);
    expect(byPath.get('upstreams.users.timeoutMs')).toMatchObject({ line: 10 });
    expect(byPath.get('upstreams.users.timeoutMs')?.message).toMatch(/twice.*line 9/);
    expect(byPath.get('routes[0].upstream')).toMatchObject({ line: 14 });
    expect(byPath.get('routes[0].upstream')?.message).toMatch(/unknown upstream "userz".*users/);
    expect(p).toHaveLength(4);
  });

  it('cross-field checks inside a broken upstream or route still run', () => {
    const p = problemsOf([
      'upstreams:',
      '  u:',
      '    targets: [ { url: "not a url" } ]',
      '    retries: 3',
      'routes:',
      '  - name: r',
      '    match: { pathPrefix: /a, path: /b }',
      '    upstream: u',
      '    cach: {}',
      'auth:',
      '  jwt: { algorithms: [HS256, HS999] }',
      '',
    ].join('\n'));
    const paths = p.map((x) => `${x.path}@${x.line}`).sort();
    expect(paths).toEqual([
      'auth.jwt.algorithms[1]@11',
      'auth.jwt.secret@11',
      'routes[0].cach@9',
      'routes[0].match@7',
      'upstreams.u.retries@4',
      'upstreams.u.targets[0].url@3',
    ]);
  });

  it('a problem under a key the file does not have points at the nearest enclosing key', () => {
    const p = problemsOf('server: { port: 1 }\nupstreams:\n  u: {}\n');
    expect(p.find((x) => x.path === 'upstreams.u.targets')?.line).toBe(3);
  });

  it('`gateway config check` prints all of them with lines, exit 1; a valid file exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-problems-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, FOUR_MISTAKES);
    const r = await runCli(['config', 'check', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('server.drainMS: unknown key (line 3)');
    expect(r.stderr).toMatch(/graphql\.maxDepth: .*\(line 5\)/);
    expect(r.stderr).toMatch(/upstreams\.users\.timeoutMs: key appears twice.*\(line 10\)/);
    expect(r.stderr).toMatch(/routes\[0\]\.upstream: unknown upstream "userz".*\(line 14\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    const good = join(dir, 'good.yaml');
    writeFileSync(good, FOUR_MISTAKES.replace('  drainMS: 5\n', '').replace('deep', '12').replace('    timeoutMs: 200\n', '').replace('userz', 'users'));
    const ok = await runCli(['config', 'check', '--config', good]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  }, 30_000);
});

const keyName = fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,8}$/);

describe('key lines (property)', () => {
  it('the line reported for every key path of a generated document holds that key', () => {
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.integer(), fc.boolean(), tie('map'), tie('list')),
      map: fc.dictionary(keyName, tie('node'), { minKeys: 1, maxKeys: 4 }),
      list: fc.array(tie('map'), { minLength: 1, maxLength: 3 }),
    })).map;
    fc.assert(
      fc.property(tree, fc.array(fc.constantFrom('', '# comment'), { maxLength: 3 }), (value, preamble) => {
        const text = [...preamble, stringify(value)].join('\n');
        const lines = text.split('\n');
        const counter = new LineCounter();
        const doc = parseDocument(text, { lineCounter: counter });
        const index = indexKeyLines(doc.contents as Node | null, counter);
        const visit = (v: unknown, path: string): void => {
          if (Array.isArray(v)) {
            v.forEach((item, i) => {
              const line = index.lineOf(`${path}[${i}]`)!;
              expect(lines[line - 1]).toMatch(/^\s*(- )+/);
              visit(item, `${path}[${i}]`);
            });
          } else if (v && typeof v === 'object') {
            for (const [k, child] of Object.entries(v)) {
              const keyPath = path ? `${path}.${k}` : k;
              const line = index.lineOf(keyPath)!;
              expect(lines[line - 1]).toMatch(new RegExp(`(^|[\\s{,-])${k}:`));
              visit(child, keyPath);
            }
          }
        };
        visit(value, '');
      }),
      { numRuns: 200 },
    );
  });

  it('an unknown key anywhere in a config is reported on the line that holds it', () => {
    const place = fc.constantFrom('server', 'graphql', 'upstreams.u', 'upstreams.u.targets[0]', 'routes[0]', 'routes[0].match');
    fc.assert(
      fc.property(place, keyName.map((k) => `x${k}`), fc.nat({ max: 3 }), (where, key, blanks) => {
        const indent = (s: string) => `${' '.repeat(where === 'server' || where === 'graphql' ? 2 : where === 'upstreams.u' ? 4 : where === 'routes[0]' ? 4 : 6)}${s}`;
        const extra = indent(`${key}: 1`);
        const lines = [
          ...Array<string>(blanks).fill('# padding'),
          'server:',
          '  port: 1',
          ...(where === 'server' ? [extra] : []),
          'graphql:',
          '  maxDepth: 3',
          ...(where === 'graphql' ? [extra] : []),
          'upstreams:',
          '  u:',
          '    targets:',
          '      - url: "http://h:1"',
          ...(where === 'upstreams.u.targets[0]' ? [`        ${key}: 1`] : []),
          ...(where === 'upstreams.u' ? [extra] : []),
          'routes:',
          '  - name: r',
          '    upstream: u',
          '    match:',
          '      pathPrefix: /a',
          ...(where === 'routes[0].match' ? [extra] : []),
          ...(where === 'routes[0]' ? [extra] : []),
          '',
        ];
        const p = problemsOf(lines.join('\n'));
        expect(p).toHaveLength(1);
        expect(p[0]!.path).toBe(`${where}.${key}`);
        expect(lines[p[0]!.line! - 1]).toContain(`${key}: 1`);
      }),
      { numRuns: 100 },
    );
  });
});

it('a duplicate key whose winning value is invalid reports both, in one run', () => {
  const problems = problemsOf(['upstreams:', '  users:', '    targets: [ { url: "http://h:1" } ]', '    timeoutMs: 3', '    timeoutMs: -5'].join('\n'));
  const here = problems.filter((p) => p.path === 'upstreams.users.timeoutMs');
  expect(here.map((p) => p.message)).toEqual([expect.stringMatching(/appears twice/), expect.stringMatching(/>0|positive|greater/i)]);
  expect(here.every((p) => p.line === 5)).toBe(true);
});

