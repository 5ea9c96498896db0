/**
 * `transform.request.query`: remove, rename, then add query parameters, on the raw query string.
 * Parameters no operation names keep their exact bytes (order, encoding, `+`), so a route that
 * renames one parameter changes nothing else of the URL. Names are compared decoded
 * (`a%5Fb` is `a_b`), as an upstream's parser reads them, and without regard to case (many
 * frameworks read `Tenant` as `tenant`: a client's `Tenant=evil` must not survive `add: { tenant }`).
 */
import type { QueryOps } from '../http/route.js';

export interface QueryOpsConfig {
  add: Record<string, string>;
  remove: string[];
  rename: Record<string, string>;
}

/** Names are kept lower-cased: the client's `DEBUG` is the route's `debug` (as takeQueryParam reads names). */
export function compileQueryOps(cfg: QueryOpsConfig): QueryOps {
  const lower = (s: string): string => s.toLowerCase();
  return {
    remove: new Set(cfg.remove.map(lower)),
    rename: new Map(Object.entries(cfg.rename).map(([from, to]) => [lower(from), lower(to)])),
    renameRaw: new Map(Object.entries(cfg.rename).map(([from, to]) => [lower(from), encodeURIComponent(to)])),
    add: Object.entries(cfg.add).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)] as const),
    addNames: new Set(Object.keys(cfg.add).map(lower)),
  };
}

/** The decoded name of a raw `name=value` pair (form encoding: `+` is a space), or the raw name when it does not decode. */
function decodedName(raw: string): string {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}

/**
 * The query string (without `?`) after the operations; '' when nothing is left. As with headers,
 * a renamed parameter replaces what the client sent under the new name, and an added one
 * replaces what it sent under that name.
 */
export function applyQueryOps(query: string, ops: QueryOps): string {
  const pairs = query === '' ? [] : query.split('&');
  const names = pairs.map((p) => {
    const eq = p.indexOf('=');
    return decodedName(eq === -1 ? p : p.slice(0, eq)).toLowerCase();
  });
  // Client parameters that a rename (of a parameter present) or an add will replace.
  let replaced: Set<string> | undefined;
  for (const [from, to] of ops.rename) if (names.includes(from)) (replaced ??= new Set(ops.addNames)).add(to);
  const out: string[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const name = names[i]!;
    if (pair === '' || ops.remove.has(name)) continue;
    const to = ops.rename.get(name);
    if (to !== undefined) {
      if (ops.addNames.has(to)) continue;
      const eq = pair.indexOf('=');
      out.push(eq === -1 ? ops.renameRaw.get(name)! : ops.renameRaw.get(name)! + pair.slice(eq));
    } else if (!(replaced ?? ops.addNames).has(name)) {
      out.push(pair);
    }
  }
  for (const [k, v] of ops.add) out.push(`${k}=${v}`);
  return out.join('&');
}
