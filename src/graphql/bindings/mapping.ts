/**
 * Response mapping of a binding: `select` picks a dot path inside the answer, `map` renames
 * fields of each selected object (`"priceCents: price_cents"`, `"ownerId: owner.id"`), for one
 * object or for every element of a list. Parsed once at composition.
 */
import { TemplateError, readPath } from './template.js';

export interface Rename {
  readonly target: string;
  readonly source: readonly string[];
}

export interface ResponseMapping {
  readonly select: readonly string[];
  readonly renames: readonly Rename[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseDotPath(text: string, what: string): string[] {
  const path = text.split('.');
  if (path.some((p) => !NAME.test(p))) throw new TemplateError(`${what} "${text}" is not a dot path of names`);
  return path;
}

export function parseSelect(text: string | undefined): string[] {
  return text ? parseDotPath(text.trim(), 'select') : [];
}

export function parseRename(text: string): Rename {
  const colon = text.indexOf(':');
  if (colon === -1) throw new TemplateError(`map entry "${text}" must be "target: source.path"`);
  const target = text.slice(0, colon).trim();
  if (!NAME.test(target)) throw new TemplateError(`map entry "${text}": the target must be one field name`);
  return { target, source: parseDotPath(text.slice(colon + 1).trim(), `map entry "${target}": source`) };
}

/** The selected part of an answer (undefined when the path is absent). */
export function selectIn(answer: unknown, select: readonly string[]): unknown {
  return select.length === 0 ? answer : readPath(answer, select);
}

/** One selected object with the renames applied (a copy; the answer is not changed). */
export function mapObject(item: unknown, renames: readonly Rename[]): unknown {
  if (renames.length === 0 || item === null || typeof item !== 'object' || Array.isArray(item)) return item;
  const out: Record<string, unknown> = { ...(item as Record<string, unknown>) };
  for (const r of renames) {
    const v = readPath(item, r.source);
    out[r.target] = v === undefined ? null : v;
  }
  return out;
}
