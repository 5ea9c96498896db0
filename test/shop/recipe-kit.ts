/**
 * What test/shop/recipe.test.ts needs to perform docs/extending.md on a copy of the repository:
 * reading the doc's marked code blocks, copying the project, applying the blocks, and running
 * the copy's own `gateway` bin.
 *
 * Markers (an HTML comment right before a fenced block, invisible when the doc is rendered):
 * - `<!-- recipe:file PATH -->`: the block is the whole content of PATH.
 * - `<!-- recipe:merge-yaml PATH -->`: the block is YAML whose entries are added to PATH's
 *   sections (`upstreams: { reviews: … }` adds `upstreams.reviews`). Adding a key PATH already has
 *   is an error, so the doc cannot silently replace what it claims to add.
 * - `<!-- recipe:merge-yaml PATH#a/b -->`: the same, into the YAML text held at key `a.b` of PATH
 *   (a ConfigMap's embedded gateway config).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runNode as runNodeIn, type CliResult } from '../helpers/cli.js';
import { isMap, isScalar, parseDocument, type Scalar } from 'yaml';

export interface RecipeStep {
  kind: 'file' | 'merge-yaml';
  /** Path inside the project. */
  target: string;
  /** For merge-yaml into embedded YAML: the key path of the text inside `target`. */
  embeddedAt?: string[];
  code: string;
}

const MARKER = /<!-- recipe:(file|merge-yaml) ([^\s#]+)(?:#(\S+))? -->\r?\n```[\w-]*\r?\n([\s\S]*?)\r?\n```/g;

/** The doc's marked blocks, in document order. */
export function readRecipe(markdown: string): RecipeStep[] {
  return [...markdown.matchAll(MARKER)].map((m) => ({
    kind: m[1] as RecipeStep['kind'],
    target: m[2]!,
    embeddedAt: m[3]?.split('/'),
    code: `${m[4]!}\n`,
  }));
}

/** Column of `offset` in `text`. */
function column(text: string, offset: number): number {
  return offset - text.lastIndexOf('\n', offset - 1) - 1;
}

function nodeRange(node: unknown, where: string): [number, number, number] {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) throw new Error(`${where}: cannot locate a YAML node`);
  return range;
}

/**
 * Adds every `section: { key: value }` entry of `snippet` to the YAML `text` as text, the way a
 * person edits the file: the snippet's lines, re-indented, after the section's last entry. The
 * rest of the file stays byte for byte (its comments, flow style and alignment).
 */
export function mergeYaml(text: string, snippet: string, where: string): string {
  const add = parseDocument(snippet);
  if (add.errors.length) throw new Error(`${where}: ${add.errors.map((e) => e.message).join('; ')}`);
  if (!isMap(add.contents)) throw new Error(`${where}: the block must be a YAML map of sections`);
  let out = text;
  for (const section of add.contents.items) {
    const name = String((section.key as Scalar).value);
    if (!isMap(section.value) || section.value.items.length === 0) throw new Error(`${where}: section ${name} must be a non-empty map`);
    const doc = parseDocument(out);
    if (doc.errors.length) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const target = doc.get(name, true);
    if (!isMap(target) || target.items.length === 0) throw new Error(`${where}: has no ${name} section to add to`);
    for (const entry of section.value.items) {
      const key = String((entry.key as Scalar).value);
      if (target.has(key)) throw new Error(`${where}: ${name}.${key} is already there`);
    }
    // The snippet's entries, from the line of the first key to the end of the last value.
    const first = nodeRange(section.value.items[0]!.key, where)[0];
    const lastEnd = nodeRange(section.value, where)[1];
    const from = column(snippet, first);
    const to = column(out, nodeRange(target.items[0]!.key, where)[0]);
    const lines = snippet
      .slice(first - from, lastEnd)
      .replace(/\s+$/, '')
      .split('\n')
      .map((l) => (l.trim() ? ' '.repeat(to) + l.slice(from) : ''));
    // After the line on which the section's last value ends (its range may run into the next line).
    let last = nodeRange(target, where)[1];
    while (last > 0 && /\s/.test(out[last - 1]!)) last--;
    const eol = out.indexOf('\n', last) === -1 ? out.length : out.indexOf('\n', last);
    out = `${out.slice(0, eol)}\n${lines.join('\n')}${out.slice(eol)}`;
  }
  return out;
}

/** Replaces the block scalar holding `value` in `text` with `next`, at the same indentation. */
function replaceEmbedded(text: string, node: Scalar, next: string, where: string): string {
  const start = nodeRange(node, where)[0];
  const body = text.indexOf('\n', start) + 1;
  const indent = /^ */.exec(text.slice(body))![0];
  const indented = (v: string) => v.replace(/\n$/, '').split('\n').map((l) => (l ? indent + l : l)).join('\n');
  const old = indented(String(node.value));
  if (text.indexOf(old, body) !== body) throw new Error(`${where}: the embedded YAML is not a plain indented block`);
  return text.slice(0, body) + indented(next) + text.slice(body + old.length);
}

/** Writes each step into the project at `dir`. */
export function applyRecipe(dir: string, steps: RecipeStep[]): void {
  for (const step of steps) {
    const file = join(dir, step.target);
    if (step.kind === 'file') {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, step.code);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    if (!step.embeddedAt) {
      writeFileSync(file, mergeYaml(text, step.code, step.target));
      continue;
    }
    const where = `${step.target}#${step.embeddedAt.join('/')}`;
    const node = parseDocument(text).getIn(step.embeddedAt, true);
    if (!isScalar(node) || typeof node.value !== 'string') throw new Error(`${where}: no YAML text there`);
    writeFileSync(file, replaceEmbedded(text, node, mergeYaml(node.value, step.code, where), where));
  }
}

/** What the copy holds when git cannot list the project's files (an export without .git). */
const PROJECT_ENTRIES = ['src', 'schema', 'resolvers', 'upstreams', 'test', 'bin', 'deploy', 'docs', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'vitest.config.ts', 'gateway.yaml', '.madgerc'];

function walk(root: string, rel: string, out: string[]): void {
  const abs = join(root, rel);
  if (!existsSync(abs)) return;
  if (!statSync(abs).isDirectory()) {
    out.push(rel);
    return;
  }
  for (const name of readdirSync(abs)) walk(root, join(rel, name), out);
}

/** The project's files: tracked and new (not ignored) ones per git, else {@link PROJECT_ENTRIES}. */
function projectFiles(root: string): string[] {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  if (git.status === 0 && git.stdout) return git.stdout.split('\0').filter(Boolean);
  const out: string[] = [];
  for (const entry of PROJECT_ENTRIES) walk(root, entry, out);
  return out;
}

/**
 * Copies the project at `root` into `dir`: its own files, never dist/ (so the copy's bin runs its
 * TypeScript sources) nor earlier temporary copies; node_modules is linked, not copied.
 */
export function copyProjectTree(root: string, dir: string): void {
  for (const rel of projectFiles(root)) {
    if (/^(node_modules|dist)(\/|$)|(^|\/)\.tmp-/.test(rel)) continue;
    const from = join(root, rel);
    if (!existsSync(from) || !statSync(from).isFile()) continue;
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    copyFileSync(from, join(dir, rel));
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'), 'dir');
}

/** The environment for processes run in the copy: ours, without the outer vitest's markers. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^VITEST|^TEST$/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export type Run = CliResult;

/** Runs `node ...args` in `cwd` to completion, in the copy's environment. */
export function runNode(args: string[], cwd: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return runNodeIn(args, { cwd, env: childEnv(opts.env), timeoutMs: opts.timeoutMs ?? 60_000 });
}

export interface RunningGateway {
  url: string;
  stop(): Promise<number | null>;
}

/** Starts `node bin/gateway.js start ...args` in `cwd`; resolves at its `listening` line. */
export function startGatewayIn(cwd: string, args: string[], timeoutMs = 30_000): Promise<RunningGateway> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/gateway.js', 'start', ...args], { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let stdout = '';
    let stderr = '';
    let listening = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not listen within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (listening) return;
      stdout += d.toString();
      const line = stdout.split('\n').slice(0, -1).find((l) => l.includes('"msg":"listening"'));
      if (!line) return;
      listening = true;
      clearTimeout(timer);
      const port = (JSON.parse(line) as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
}
