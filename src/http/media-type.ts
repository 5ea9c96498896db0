/**
 * Media-type checks shared by the layers that read bodies: the upstream layer (a JSON call's
 * answer) and the proxy (body transforms).
 */

/** True for `application/json` and `<type>/<subtype>+json` (RFC 6839), parameters ignored. */
export function isJsonMediaType(value: string | string[] | number | undefined): boolean {
  if (typeof value !== 'string') return false;
  const semi = value.indexOf(';');
  const t = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  return t === 'application/json' || (t.endsWith('+json') && t.indexOf('/') > 0);
}
