/**
 * Config checks for routes that only make sense together: `match.host` and `match.pathRegex`
 * must be usable, and no route may be one the router can never choose because an earlier one
 * matches exactly the same requests (same host, path, headers and query, and every method it
 * allows is taken first by the other). Like every cross-check, this reads a possibly half-valid
 * file and skips what the schema already reports.
 */
import { parseRouteHost } from '../http/route-host.js';
import { compilePathRegex } from '../http/path-regex.js';
import { normalizePath } from '../http/normalize-path.js';

/** Where issues go (the zod refinement context; structurally the same as cross-checks' sink). */
interface IssueSink {
  addIssue(issue: { code: 'custom'; path: Array<string | number>; message: string }): void;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** One route's `match.host` and `match.pathRegex`, reported under `match.<key>`. */
export function checkRouteMatch(match: Obj, ctx: IssueSink): void {
  const host = str(match.host);
  if (host !== undefined) {
    const parsed = parseRouteHost(host);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', path: ['match', 'host'], message: parsed });
  }
  const pattern = str(match.pathRegex);
  if (pattern !== undefined) {
    const re = compilePathRegex(pattern);
    if (typeof re === 'string') ctx.addIssue({ code: 'custom', path: ['match', 'pathRegex'], message: re });
  }
}

/** What a route matches on apart from its methods, as one comparable string (undefined: not checkable). */
function matchKey(match: Obj): string | undefined {
  const hostSpec = str(match.host);
  let host = '';
  if (hostSpec !== undefined) {
    const h = parseRouteHost(hostSpec);
    if (typeof h === 'string') return undefined;
    host = h.wildcard ? `*${h.host}` : h.host;
  }
  let path: string;
  const regex = str(match.pathRegex);
  if (regex !== undefined) path = `regex ${regex}`;
  else {
    const exact = str(match.path);
    const raw = exact ?? str(match.pathPrefix);
    if (raw === undefined) return undefined;
    const n = normalizePath(raw);
    if (n.reject !== undefined) return undefined;
    const p = n.path.length > 1 && n.path.endsWith('/') ? n.path.slice(0, -1) : n.path;
    path = `${exact !== undefined ? 'exact' : 'prefix'} ${p}`;
  }
  const pairs = (v: unknown, fold: boolean): string =>
    isObj(v)
      ? Object.entries(v)
          .map(([k, x]) => `${fold ? k.toLowerCase() : k}=${String(x)}`)
          .sort()
          .join('&')
      : '';
  return JSON.stringify([host, path, pairs(match.headers, true), pairs(match.query, false)]);
}

function methodSet(match: Obj): Set<string> | null {
  return Array.isArray(match.methods) ? new Set(match.methods.filter((m): m is string => typeof m === 'string').map((m) => m.toUpperCase())) : null;
}

/**
 * Reports each route that an earlier route with the same match always takes first. Among routes
 * with the same match the router tries those with a method list before those without, then
 * config order (src/proxy/route-table.ts), so a later route is unreachable when both have no
 * method list, or when both have one and the later one's methods are all in the earlier one's.
 */
export function checkIndistinguishableRoutes(routes: unknown[], ctx: IssueSink): void {
  const seen = new Map<string, Array<{ index: number; name: string; methods: Set<string> | null }>>();
  routes.forEach((r, index) => {
    if (!isObj(r) || !isObj(r.match)) return;
    const key = matchKey(r.match);
    if (key === undefined) return;
    const methods = methodSet(r.match);
    const name = str(r.name) ?? `#${index}`;
    const earlier = seen.get(key) ?? [];
    const first = earlier.find((e) => (e.methods === null ? methods === null : methods !== null && [...methods].every((m) => e.methods!.has(m))));
    if (first) {
      ctx.addIssue({
        code: 'custom',
        path: ['routes', index, 'match'],
        message: `route "${name}" can never be chosen: routes[${first.index}] ("${first.name}") matches the same host, path, headers and query${methods ? ' and methods' : ''} and is tried first`,
      });
    }
    earlier.push({ index, name, methods });
    seen.set(key, earlier);
  });
}
