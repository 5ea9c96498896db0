/**
 * Takes one parameter out of a raw query string, for credentials carried in the URL
 * (`auth.apiKeys.queryParam`): the values are returned decoded, and the rest of the query is
 * kept byte for byte, in order, so nothing else the client sent changes on its way upstream.
 *
 * Names are compared after decoding, as the WHATWG URL standard (URLSearchParams) and the
 * upstream's framework decode them, and without regard to case (ASP.NET binds query values
 * case-insensitively): `api%5Fkey=…` and `API_KEY=…` are the parameter too and never pass.
 */

export interface TakenParam {
  /** The parameter's values, decoded, in order. */
  readonly values: string[];
  /** The query without them (no leading `?`), '' when nothing is left. */
  readonly rest: string;
}

/** `name` must be lower case. Undefined when the query does not carry the parameter. */
export function takeQueryParam(query: string, name: string): TakenParam | undefined {
  if (query === '') return undefined;
  // Cheap refusal first: a query that neither spells the name nor escapes anything cannot carry it.
  const folded = query.toLowerCase();
  if (!folded.includes(name) && !folded.includes('%')) return undefined;
  let values: string[] | undefined;
  const kept: string[] = [];
  for (const piece of query.split('&')) {
    const eq = piece.indexOf('=');
    const rawName = eq === -1 ? piece : piece.slice(0, eq);
    if (decode(rawName).toLowerCase() === name) (values ??= []).push(eq === -1 ? '' : decode(piece.slice(eq + 1)));
    else kept.push(piece);
  }
  return values ? { values, rest: kept.join('&') } : undefined;
}

/** application/x-www-form-urlencoded decoding: `+` is a space, invalid escapes stay as written. */
function decode(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  return new URLSearchParams(`v=${s.replace(/&/g, '%26')}`).get('v') ?? '';
}
