/**
 * Loads the YAML configuration: parse, replace `${VAR}` / `${VAR:-default}` from the
 * environment, validate against {@link configSchema}. Every problem is collected and reported
 * at once, each named by its key path (`upstreams.users.targets[0].url: …`).
 */
import { pendingProblems } from './pending.js';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, dirname, resolve } from 'node:path';
import { parseDocument, parse as parseYamlScalar, isMap, isSeq, LineCounter, type Node } from 'yaml';
import { formatKeyPath, indexKeyLines, pairKeyName } from './key-lines.js';
import { configSchema, type GatewayConfig } from './schema.js';
import type { ConfigProblem } from './problem.js';

export type { ConfigProblem } from './problem.js';

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly file: string | undefined;

  constructor(problems: ConfigProblem[], file?: string) {
    const where = file ? `${file}: ` : '';
    super(`${where}invalid configuration\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
    this.file = file;
  }
}

/** `  routes[0].upstream: unknown upstream "x" (line 12)`: the key path first, as every tool that reads this output expects. */
export function formatProblem(p: ConfigProblem): string {
  return `  ${p.path || '(root)'}: ${p.message}${p.line !== undefined ? ` (line ${p.line})` : ''}`;
}

/** The loaded configuration plus where it came from (relative paths in it resolve against `baseDir`). */
export interface LoadedConfig {
  config: GatewayConfig;
  file: string | undefined;
  baseDir: string;
}

export const formatPath = formatKeyPath;

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_PLACEHOLDER = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Replaces placeholders in every string of a plain YAML value tree. A string that is exactly
 * one placeholder is re-read as a YAML scalar, so `port: ${PORT}` yields a number.
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  path: Array<string | number> = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    let missing = false;
    const out = value.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      missing = true;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` });
      return '';
    });
    if (missing) return undefined;
    if (WHOLE_PLACEHOLDER.test(value) && out !== '' && !out.includes('\n')) {
      try {
        const scalar = parseYamlScalar(out) as unknown;
        if (typeof scalar === 'number' || typeof scalar === 'boolean') return scalar;
      } catch {
        // Not a scalar YAML can read: keep the string as it is.
      }
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, [...path, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, problems, [...path, k]);
    return out;
  }
  return value;
}

function collectDuplicateKeys(node: Node | null, path: Array<string | number>, problems: ConfigProblem[], lines: LineCounter): void {
  if (isMap(node)) {
    const seen = new Map<string, number | undefined>();
    for (const pair of node.items) {
      const key = pairKeyName(pair.key);
      const start = (pair.key as Node | null)?.range?.[0];
      const line = start === undefined ? undefined : lines.linePos(start).line;
      if (seen.has(key)) {
        const first = seen.get(key);
        problems.push({ path: formatPath([...path, key]), message: `key appears twice${first !== undefined ? ` (also on line ${first}; this later one wins)` : ''}`, line });
      } else {
        seen.set(key, line);
      }
      collectDuplicateKeys(pair.value as Node | null, [...path, key], problems, lines);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => collectDuplicateKeys(item as Node | null, [...path, i], problems, lines));
  }
}

/** Largest config file read, in bytes: a gateway config is a few KiB; anything near this is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1_048_576;

/**
 * Most alias expansions allowed while building the config's values. yaml counts the nodes each
 * alias stands for, so a "billion laughs" document of nested aliases stops here at once.
 */
export const MAX_YAML_ALIAS_COUNT = 100;

/**
 * Parses and validates configuration text. Throws {@link ConfigError} listing every problem,
 * and nothing else: whatever the text, a caller gets key paths, never a stack trace.
 */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, file?: string): GatewayConfig {
  try {
    return parseConfigText(text, env, file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // yaml, interpolation and validation all run on attacker-sized input: a limit they hit
    // (alias count, nesting depth) is a problem with the file, reported like any other.
    throw new ConfigError([{ path: '', message: `cannot read the configuration: ${firstLine(err)}` }], file);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n', 1)[0]!;
}

function parseConfigText(text: string, env: NodeJS.ProcessEnv, file: string | undefined): GatewayConfig {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_CONFIG_BYTES) throw new ConfigError([{ path: '', message: `file is ${size} bytes; a configuration is at most ${MAX_CONFIG_BYTES}` }], file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: true, lineCounter });
  const problems: ConfigProblem[] = [];
  for (const err of doc.errors) {
    const line = err.linePos?.[0];
    problems.push({ path: line ? `line ${line.line}:${line.col}` : '', message: `YAML syntax: ${err.message.split('\n')[0]}`, line: line?.line });
  }
  if (problems.length) throw new ConfigError(problems, file);
  collectDuplicateKeys(doc.contents as Node | null, [], problems, lineCounter);

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (err) {
    // yaml throws here for the two ways an alias can be wrong; its messages name which.
    const bomb = /excessive alias count/i.test(firstLine(err));
    const message = bomb ? `YAML aliases expand too far (more than ${MAX_YAML_ALIAS_COUNT} nodes): a resource exhaustion attack or a mistake` : `YAML: ${firstLine(err)}`;
    throw new ConfigError([...problems, { path: '', message }], file);
  }
  const raw = interpolate(value ?? {}, env, problems);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      // An unset variable was already reported at this path; a second "expected string" adds nothing.
      // (A duplicate key there is another matter: the value that wins may be wrong too.)
      const path = formatPath(issue.path);
      if (problems.some((p) => p.path === path && p.message.startsWith('environment variable '))) continue;
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
      } else {
        problems.push({ path, message: issue.message });
      }
    }
  }
  problems.push(...pendingProblems(raw));
  if (problems.length || !result.success) {
    const keyLines = indexKeyLines(doc.contents as Node | null, lineCounter);
    for (const p of problems) p.line ??= keyLines.lineOf(p.path);
    // Top to bottom, the order an operator fixes them in; file-wide problems first.
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(problems, file);
  }
  return result.data;
}

/** Reads, interpolates and validates a configuration file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const abs = isAbsolute(file) ? file : resolve(file);
  let text: string;
  try {
    // Checked before reading, so a huge file (or a device) is never loaded into memory.
    const size = statSync(abs).size;
    if (size > MAX_CONFIG_BYTES) throw new ConfigError([{ path: '', message: `file is ${size} bytes; a configuration is at most ${MAX_CONFIG_BYTES}` }], file);
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ path: '', message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], file);
  }
  return { config: parseConfig(text, env, file), file: abs, baseDir: dirname(abs) };
}
