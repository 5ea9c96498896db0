/**
 * The documentation and the configuration schema agree (issue #19):
 * - every key of src/config/schema.ts has a row in docs/configuration.md, and every key a row
 *   names exists in the schema;
 * - every docs/*.md page is linked from README.md;
 * - every relative link in README.md and docs/*.md reaches an existing file, and a `#anchor`
 *   on a Markdown file reaches one of its headings.
 *
 * Key paths are written as the reference writes them: `server.trustProxy`, `upstreams.<name>.retry.attempts`
 * (a map: any `<placeholder>`), `routes[].match.path` (a list of objects). A list or map of plain
 * values is one key (`server.cors.origins`, `graphql.fieldCosts`).
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { configSchema } from '../src/config/schema.js';
import { ROOT } from './helpers/cli.js';

const DOCS = join(ROOT, 'docs');
const CONFIG_DOC = join(DOCS, 'configuration.md');

interface ZodDef {
  type: string;
  [k: string]: unknown;
}
const defOf = (s: unknown): ZodDef => (s as { _zod: { def: ZodDef } })._zod.def;

/** The object members a schema may take, after unwrapping optional/default/pipe/union, and whether it may be a plain value too. */
function branches(s: unknown): { objects: Array<{ kind: 'object' | 'record' | 'array'; inner: unknown }>; plain: boolean } {
  const d = defOf(s);
  switch (d.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
      return branches(d.innerType);
    case 'pipe': {
      // z.preprocess(fn, schema) is pipe(transform, schema); schema.transform(fn) is pipe(schema, transform).
      const side = defOf(d.in).type === 'transform' ? d.out : d.in;
      return branches(side);
    }
    case 'union': {
      const out = { objects: [] as Array<{ kind: 'object' | 'record' | 'array'; inner: unknown }>, plain: false };
      for (const o of d.options as unknown[]) {
        const b = branches(o);
        out.objects.push(...b.objects);
        out.plain ||= b.plain;
      }
      return out;
    }
    case 'object':
      return { objects: [{ kind: 'object', inner: s }], plain: false };
    case 'record': {
      const v = branches(d.valueType);
      return v.objects.length > 0 ? { objects: [{ kind: 'record', inner: d.valueType }], plain: v.plain } : { objects: [], plain: true };
    }
    case 'array': {
      const e = branches(d.element);
      return e.objects.length > 0 ? { objects: [{ kind: 'array', inner: d.element }], plain: e.plain } : { objects: [], plain: true };
    }
    default:
      return { objects: [], plain: true };
  }
}

/**
 * Every key path of the schema. `leaf` marks the keys that must have a row of their own (they take
 * a plain value); the others (sections such as `server.cors`) may have one.
 */
function schemaKeys(schema: unknown): Map<string, { leaf: boolean }> {
  const keys = new Map<string, { leaf: boolean }>();
  const visit = (s: unknown, path: string): void => {
    const b = branches(s);
    if (path) keys.set(path, { leaf: b.plain || b.objects.length === 0 });
    for (const o of b.objects) {
      if (o.kind === 'object') {
        for (const [k, v] of Object.entries((defOf(o.inner).shape as Record<string, unknown>) ?? {})) visit(v, path ? `${path}.${k}` : k);
      } else if (o.kind === 'record') {
        visit(o.inner, `${path}.<name>`);
      } else {
        visit(o.inner, `${path}[]`);
      }
    }
  };
  visit(schema, '');
  return keys;
}

/** `upstreams.<any name>.x` and `upstreams.<name>.x` are the same key. */
const canonical = (key: string): string => key.replace(/<[^>]*>/g, '<>');

/**
 * Keys named by docs/configuration.md: the first cell of every row of a table whose header's
 * first cell is `key`. The cell holds one or more key paths in backticks.
 */
function documentedKeys(markdown: string): Array<{ key: string; line: number }> {
  const out: Array<{ key: string; line: number }> = [];
  const lines = markdown.split('\n');
  let inKeyTable = false;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line.startsWith('|')) {
      inKeyTable = false;
      return;
    }
    const first = line.split('|')[1]?.trim() ?? '';
    if (first === 'key') {
      inKeyTable = true;
      return;
    }
    if (!inKeyTable || /^-+$/.test(first)) return;
    for (const m of first.matchAll(/`([^`]+)`/g)) out.push({ key: m[1]!, line: i + 1 });
  });
  return out;
}

describe('docs/configuration.md and src/config/schema.ts', () => {
  const schema = schemaKeys(configSchema);
  const doc = readFileSync(CONFIG_DOC, 'utf8');
  const documented = documentedKeys(doc);

  it('the schema walk sees sections, maps, lists and unions (guards the walker itself)', () => {
    expect(schema.get('server.trustProxy')).toEqual({ leaf: true });
    expect(schema.get('server.cors')).toEqual({ leaf: false });
    expect(schema.get('server.cors.origins')).toEqual({ leaf: true });
    expect(schema.get('upstreams.<name>.retry.attempts')).toEqual({ leaf: true });
    expect(schema.get('routes[].match.pathPrefix')).toEqual({ leaf: true });
    expect(schema.get('auth.apiKeys.keys[].sha256')).toEqual({ leaf: true });
    expect(schema.get('auth.apiKeys.keys[].key')).toEqual({ leaf: true });
    // union of `false` and a window: a value of its own, and a section
    expect(schema.get('auth.failureLimit')).toEqual({ leaf: true });
    expect(schema.get('auth.failureLimit.points')).toEqual({ leaf: true });
    expect(schema.get('rateLimit.fields.<name>.durationSec')).toEqual({ leaf: true });
    expect(schema.get('graphql.fieldCosts')).toEqual({ leaf: true });
    expect(schema.get('auth.jwt.jwksUrl')).toEqual({ leaf: true }); // behind z.preprocess
    expect(schema.has('upstreams.<name>.targets[].url')).toBe(true);
    expect(schema.size).toBeGreaterThan(100);
  });

  it('the row parser reads only key tables, every backticked path of the first cell', () => {
    const md = [
      '| key | default | meaning |',
      '| --- | --- | --- |',
      '| `a.b` / `a.c` | `1` | x |',
      '',
      '| variable | meaning |',
      '| --- | --- |',
      '| `OTEL_X` | y |',
    ].join('\n');
    expect(documentedKeys(md)).toEqual([
      { key: 'a.b', line: 3 },
      { key: 'a.c', line: 3 },
    ]);
  });

  it('every key of the schema has a row in docs/configuration.md', () => {
    const named = new Set(documented.map((d) => canonical(d.key)));
    const missing = [...schema].filter(([k, v]) => v.leaf && !named.has(canonical(k))).map(([k]) => k);
    expect(missing, `config keys missing from docs/configuration.md (add a row whose first cell is the key path): ${missing.join(', ')}`).toEqual([]);
  });

  it('every key docs/configuration.md names exists in the schema', () => {
    const known = new Set([...schema.keys()].map(canonical));
    const unknown = documented.filter((d) => !known.has(canonical(d.key))).map((d) => `${d.key} (docs/configuration.md:${d.line})`);
    expect(unknown, `docs/configuration.md names keys the schema does not have: ${unknown.join(', ')}`).toEqual([]);
  });

  it('no key has two rows', () => {
    const seen = new Map<string, number>();
    const twice: string[] = [];
    for (const d of documented) {
      const c = canonical(d.key);
      if (seen.has(c)) twice.push(`${d.key} (lines ${seen.get(c)} and ${d.line})`);
      else seen.set(c, d.line);
    }
    expect(twice, `keys documented twice: ${twice.join(', ')}`).toEqual([]);
  });

  it('canonical() treats any placeholder name alike and nothing else (property)', () => {
    const seg = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,8}$/);
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 5 }), seg, seg, (parts, a, b) => {
        const withA = [...parts, `<${a}>`, 'x'].join('.');
        const withB = [...parts, `<${b}>`, 'x'].join('.');
        expect(canonical(withA)).toBe(canonical(withB));
        expect(canonical(parts.join('.'))).toBe(parts.join('.'));
      }),
    );
  });
});

/** Relative link targets of a Markdown text, code blocks and inline code left out. */
function relativeLinks(markdown: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return;
    }
    if (fenced) return;
    const text = line.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      out.push({ target, line: i + 1 });
    }
  });
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = counts.get(base) ?? 0;
    anchors.add(n === 0 ? base : `${base}-${n}`);
    counts.set(base, n + 1);
  }
  return anchors;
}

describe('links between README.md and docs/', () => {
  const pages = readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(DOCS, f));
  const readme = join(ROOT, 'README.md');

  it('GitHub anchors are computed as GitHub does', () => {
    expect([...headingAnchors('# Rate limits and demand control\n## `server.cors` / CORS\n## A\n## A')]).toEqual([
      'rate-limits-and-demand-control',
      'servercors--cors',
      'a',
      'a-1',
    ]);
  });

  it('every docs/*.md page is linked from README.md', () => {
    const linked = new Set(relativeLinks(readFileSync(readme, 'utf8')).map((l) => resolve(ROOT, l.target.split('#')[0]!)));
    const unlinked = pages.filter((p) => !linked.has(p)).map((p) => relative(ROOT, p));
    expect(unlinked, `docs pages not linked from README.md: ${unlinked.join(', ')}`).toEqual([]);
  });

  it('every relative link in README.md and docs/*.md reaches a file (and a heading)', () => {
    const broken: string[] = [];
    for (const file of [readme, ...pages]) {
      for (const { target, line } of relativeLinks(readFileSync(file, 'utf8'))) {
        const [pathPart, anchor] = target.split('#') as [string, string | undefined];
        const dest = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
        const where = `${relative(ROOT, file)}:${line} → ${target}`;
        if (!existsSync(dest)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (anchor && dest.endsWith('.md') && statSync(dest).isFile() && !headingAnchors(readFileSync(dest, 'utf8')).has(anchor)) {
          broken.push(`${where} (no such heading)`);
        }
      }
    }
    expect(broken, `broken links:\n${broken.join('\n')}`).toEqual([]);
  });
});
