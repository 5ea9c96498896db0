/**
 * Path normalisation, done once at the edge before anything is matched, so that the path a
 * route (or the GraphQL endpoint) is chosen by is the path the upstream receives. It follows
 * RFC 3986 §6.2.2: percent-encoded unreserved characters (ALPHA / DIGIT / - . _ ~) are decoded,
 * the hex of every other escape is upper-cased, dot segments are removed (never above the
 * root) and doubled slashes are merged (Envoy's `merge_slashes`).
 *
 * A path with two readings is refused instead of guessed at (Envoy's
 * `path_with_escaped_slashes_action: REJECT_REQUEST`, Tomcat's `..;` history). The test is what
 * a common upstream framework does with the path we send: decode every escape (once or
 * twice), drop `;` parameters per segment, cut at `#`, and on some platforms fold Unicode
 * (NFKC) or strip a trailing dot. Refused, with the reason:
 *
 * - `#`, `\`, `;`, control characters, space and raw non-ASCII bytes;
 * - escapes of `/`, `\`, `#`, `;`, `%`+hex (double encoding) and control characters;
 * - invalid escapes (`%zz`, `%4`), escaped bytes that are not strict UTF-8 (overlong `%c0%ae`),
 *   and escaped characters whose NFKC form contains ASCII (fullwidth `．` `／`, `ａ`);
 * - a segment ending in `.` other than a dot segment (`admin.` is `admin` on Windows).
 *
 * `;` is refused in every segment rather than only where it hides a dot segment: frameworks
 * that drop parameters (Tomcat, Spring, Jetty) read `/app/admin;x/y` as `/app/admin/y`, so a
 * parameter can move a path from one route to another without any dot segment at all.
 */

export type NormalizedPath =
  /** The normalised path (starts with `/`); safe to match and to forward. */
  | { readonly path: string; readonly reject: undefined }
  /** Why the path must be refused with 400. */
  | { readonly path: undefined; readonly reject: string };

const HEX = '0123456789ABCDEF';
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const DOUBLE_ENCODED = /%25[0-9a-f]{2}/i;
const ASCII = /[\x00-\x7f]/;

function refuse(reason: string): NormalizedPath {
  return { path: undefined, reject: reason };
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}

/** Why an escaped byte cannot be kept, or undefined. */
function escapedByteProblem(b: number): string | undefined {
  if (b < 0x20 || b === 0x7f) return 'encoded control character in path';
  if (b === 0x2f || b === 0x5c) return 'encoded slash or backslash in path';
  if (b === 0x23) return 'encoded # in path';
  if (b === 0x3b) return 'encoded ; in path';
  return undefined;
}

/** A run of escaped non-ASCII bytes must be strict UTF-8 and must not fold (NFKC) to ASCII. */
function utf8Problem(bytes: number[]): string | undefined {
  let text: string;
  try {
    text = STRICT_UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return 'escaped bytes are not valid UTF-8';
  }
  for (const ch of text) if (ASCII.test(ch.normalize('NFKC'))) return 'escaped character folds to ASCII';
  return undefined;
}

/** Decodes unreserved escapes and upper-cases the others; refuses what has two readings. */
function decodeUnreserved(raw: string): NormalizedPath {
  let out = '';
  let utf8: number[] | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37) {
      const hi = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
      const lo = hi === -1 ? -1 : hexValue(raw.charCodeAt(i + 2));
      if (lo === -1) return refuse('invalid percent-escape in path');
      const b = hi * 16 + lo;
      i += 2;
      if (b >= 0x80) {
        (utf8 ??= []).push(b);
        out += '%' + HEX[hi] + HEX[lo];
        continue;
      }
      if (utf8) {
        const problem = utf8Problem(utf8);
        if (problem) return refuse(problem);
        utf8 = undefined;
      }
      if (isUnreserved(b)) out += String.fromCharCode(b);
      else {
        const problem = escapedByteProblem(b);
        if (problem) return refuse(problem);
        out += '%' + HEX[hi] + HEX[lo];
      }
      continue;
    }
    if (utf8) {
      const problem = utf8Problem(utf8);
      if (problem) return refuse(problem);
      utf8 = undefined;
    }
    if (c <= 0x20 || c >= 0x7f) return refuse('control, space or non-ASCII character in path');
    if (c === 35) return refuse('# in path');
    if (c === 92) return refuse('backslash in path');
    if (c === 59) return refuse('; parameter in path');
    out += raw[i];
  }
  if (utf8) {
    const problem = utf8Problem(utf8);
    if (problem) return refuse(problem);
  }
  if (DOUBLE_ENCODED.test(out)) return refuse('double-encoded character in path');
  return { path: out, reject: undefined };
}

/** ASCII codes that can never change or be refused: unreserved, `/`, and the sub-delims, `:` and `@` of RFC 3986 §3.3 but `;`. */
const PLAIN = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/!$&\'()*+,=:@') PLAIN[c.charCodeAt(0)] = 1;

/** Cheap test for the common case: plain characters, and no `//`, dot segment or trailing dot. */
function isPlain(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= 128 || PLAIN[c] === 0) return false;
  }
  return p.indexOf('//') === -1 && p.indexOf('/.') === -1 && p.indexOf('./') === -1 && !p.endsWith('.');
}

/** Normalises a request path (no query) or says why it must be refused; see the module comment. */
export function normalizePath(raw: string): NormalizedPath {
  if (raw.length === 0) return { path: '/', reject: undefined };
  if (raw.charCodeAt(0) !== 47) return refuse('path must start with /');
  if (isPlain(raw)) return { path: raw, reject: undefined };
  const decoded = decodeUnreserved(raw);
  if (decoded.reject !== undefined) return decoded;
  return removeDotSegments(decoded.path);
}

/**
 * RFC 3986 §5.2.4 remove_dot_segments, with empty segments (doubled slashes) dropped as well.
 * A trailing slash is kept. A segment ending in `.` that is not a dot segment is refused.
 */
export function removeDotSegments(p: string): NormalizedPath {
  const parts = p.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i]!;
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else if (s.endsWith('.')) return refuse('path segment ends with a dot');
    else out.push(s);
  }
  const last = parts[parts.length - 1];
  const trailing = parts.length > 1 && (last === '' || last === '.' || last === '..') && out.length > 0;
  return { path: '/' + out.join('/') + (trailing ? '/' : ''), reject: undefined };
}
