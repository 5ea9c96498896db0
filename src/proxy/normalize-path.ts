/**
 * Path normalisation for passthrough routes, done once before matching so that the path a
 * route is chosen by is the path the upstream receives. It follows RFC 3986 §6.2.2 (dot
 * segments removed after decoding `%2e`) and the choices Envoy documents for its
 * `normalize_path`, `merge_slashes` and `path_with_escaped_slashes_action: REJECT_REQUEST`:
 *
 * - `.` / `..` segments, raw or as `%2e`, are resolved (never above the root);
 * - doubled slashes are merged;
 * - encoded slashes and backslashes (`%2f`, `%5c`), raw backslashes, NUL and double-encoded
 *   dots or slashes (`%252e`, `%252f`, ...) are refused with 400, because an upstream that
 *   decodes them again would see segments the gateway never matched.
 */

export interface NormalizedPath {
  /** The normalised path (starts with `/`). */
  path: string;
  /** Why the path must be refused (400), or undefined when it may be forwarded. */
  reject: string | undefined;
}

const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i;
const DOUBLE_ENCODED = /%25(?:25)*(?:2e|2f|5c|00)/i;
const ENCODED_DOT = /%2e/gi;

/** Cheap test: nothing in the path can change under normalisation. */
function isPlain(p: string): boolean {
  return p.indexOf('%') === -1 && p.indexOf('/.') === -1 && p.indexOf('//') === -1 && p.indexOf('\\') === -1;
}

export function normalizePath(raw: string): NormalizedPath {
  if (isPlain(raw)) return { path: raw.length === 0 ? '/' : raw, reject: undefined };
  let reject: string | undefined;
  if (raw.indexOf('\\') !== -1) reject = 'backslash in path';
  else if (ENCODED_SEPARATOR.test(raw)) reject = 'encoded slash, backslash or NUL in path';
  else if (DOUBLE_ENCODED.test(raw)) reject = 'double-encoded character in path';
  const decoded = raw.indexOf('%') === -1 ? raw : raw.replace(ENCODED_DOT, '.');
  return { path: removeDotSegments(decoded), reject };
}

/** RFC 3986 remove_dot_segments, with empty segments (doubled slashes) dropped as well. */
export function removeDotSegments(p: string): string {
  const parts = p.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i]!;
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  const last = parts[parts.length - 1];
  const trailing = parts.length > 1 && (last === '' || last === '.' || last === '..') && out.length > 0;
  return '/' + out.join('/') + (trailing ? '/' : '');
}
