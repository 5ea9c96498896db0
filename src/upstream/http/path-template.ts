/**
 * Upstream paths built from a template, so that a value taken from a GraphQL argument can never
 * change which resource is addressed: every parameter becomes exactly one path segment (or one
 * query value), percent-encoded, and a `.` / `..` value is written `%2E` / `%2E%2E` so that it
 * is not a dot segment (RFC 3986 §5.2.4 removes only literal ones).
 *
 *   upstreamPath`/orders/${id}`             → /orders/%2E%2E   for id = '..'
 *   upstreamPath`/users?ids=${['1', 'a,b']}` → /users?ids=1,a%2Cb   (an array is a comma list)
 *
 * A plain string path is accepted by the HTTP upstream client only when it is already safe
 * ({@link assertPlainPath}): that is what catches a resolver that concatenates by hand.
 */
import { BadRequest } from '../../errors.js';

const BRAND = Symbol('upstreamPath');

/** A path made by {@link upstreamPath}; its parameters are already encoded. */
export interface UpstreamPath {
  readonly [BRAND]: true;
  readonly value: string;
  toString(): string;
}

export type PathParam = string | number | bigint | ReadonlyArray<string | number | bigint>;

/** One value as one segment: encodeURIComponent, and dot segments written with %2E. */
export function encodeSegment(value: string | number | bigint): string {
  const s = String(value);
  if (s === '') throw BadRequest('an empty value cannot be an upstream path segment');
  if (s === '.') return '%2E';
  if (s === '..') return '%2E%2E';
  return encodeURIComponent(s);
}

function encodeParam(param: PathParam, inQuery: boolean): string {
  if (Array.isArray(param)) return (param as ReadonlyArray<string | number | bigint>).map((p) => encodeURIComponent(String(p))).join(',');
  if (inQuery) return encodeURIComponent(String(param));
  return encodeSegment(param as string | number | bigint);
}

/** Tagged template: the literal parts are written as is, each parameter is encoded (see the module comment). */
export function upstreamPath(strings: TemplateStringsArray, ...params: PathParam[]): UpstreamPath {
  // The literal parts are checked with a harmless stand-in for each parameter; encoded `%2E%2E` parameters are fine.
  assertPlainPath(strings.join('p'));
  let value = strings[0]!;
  let inQuery = value.includes('?');
  for (let i = 0; i < params.length; i++) {
    value += encodeParam(params[i]!, inQuery) + strings[i + 1]!;
    inQuery ||= strings[i + 1]!.includes('?');
  }
  return { [BRAND]: true, value, toString: () => value };
}

/**
 * A path whose values a caller has already encoded one by one (the binding renderer,
 * src/graphql/bindings/template.ts): it may hold `%2E%2E` for a value `..`, which a plain path may not.
 */
export function encodedUpstreamPath(value: string): UpstreamPath {
  return { [BRAND]: true, value, toString: () => value };
}

export function isUpstreamPath(p: unknown): p is UpstreamPath {
  return typeof p === 'object' && p !== null && (p as { [BRAND]?: unknown })[BRAND] === true;
}

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Throws (before any network call) when a plain path could address something other than what
 * it reads as: not starting with `/`, a `#`, a backslash, a control, space or non-ASCII
 * character, or a dot segment (literal or `%2e`) before the query.
 */
export function assertPlainPath(path: string): void {
  if (path.charCodeAt(0) !== 47) throw BadRequest('upstream path must start with /');
  const q = path.indexOf('?');
  const end = q === -1 ? path.length : q;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 35 || c === 92) throw BadRequest('unsafe character in upstream path');
  }
  let start = 1;
  while (start <= end) {
    let stop = path.indexOf('/', start);
    if (stop === -1 || stop > end) stop = end;
    const seg = path.slice(start, stop);
    const bare = seg.indexOf(';') === -1 ? seg : seg.slice(0, seg.indexOf(';'));
    if (DOT_SEGMENT.test(bare)) throw BadRequest('dot segment in upstream path');
    start = stop + 1;
  }
}

/** The string to send: template paths as built, plain strings only when {@link assertPlainPath} accepts them. */
export function resolveUpstreamPath(path: string | UpstreamPath): string {
  if (typeof path === 'string') {
    assertPlainPath(path);
    return path;
  }
  return path.value;
}
