/**
 * The login endpoint's `returnTo`: where the browser goes once logged in. Only a path on the
 * gateway's own origin (`/app/orders?x=1`) or an absolute URL on one of
 * `auth.oidc.allowedReturnToOrigins` is accepted; anything a browser could read as another
 * origin is refused: `//evil`, `/\evil` (browsers read `\` as `/`), `/.//evil` (dot segments
 * that collapse into `//`), encoded separators (`%2F`, `%5C`) and dots (`%2E`), control
 * characters, user info, other schemes. The value is parsed once with the WHATWG URL parser
 * (what browsers use) and the answer is its serialisation, never the raw input.
 */

/** Longest `returnTo` accepted. */
const MAX_LENGTH = 2048;
const BASE = 'https://return-to.invalid';
/** Visible ASCII only (no space, controls, DEL or non-ASCII), and no backslash. */
const PLAIN = /^[\x21-\x5B\x5D-\x7E]*$/;
/** Percent-encoded `/`, `\`, `.` and NUL, and a `%` that is not an escape. */
const ENCODED_SEPARATOR = /%(?:2f|5c|2e|00)|%(?![0-9a-f]{2})/i;

/**
 * The `Location` to send for `value`, or undefined when it is refused. Empty or absent: `/`.
 * `allowedOrigins` holds serialised origins (`https://app.example.com`).
 */
export function normalizeReturnTo(value: string | undefined, allowedOrigins: ReadonlySet<string>): string | undefined {
  if (value === undefined || value === '') return '/';
  if (value.length > MAX_LENGTH || !PLAIN.test(value) || ENCODED_SEPARATOR.test(value)) return undefined;
  if (value.charCodeAt(0) === 47 /* / */) {
    if (value.charCodeAt(1) === 47) return undefined;
    let u: URL;
    try {
      u = new URL(value, BASE);
    } catch {
      return undefined;
    }
    if (u.origin !== BASE || u.pathname.startsWith('//')) return undefined;
    return u.pathname + u.search + u.hash;
  }
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username !== '' || u.password !== '') return undefined;
  if (!allowedOrigins.has(u.origin)) return undefined;
  return u.href;
}
