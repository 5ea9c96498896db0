/**
 * The routes of one host group (one `match.host`, or no host), by path. Lookup cost grows with
 * the number of path segments and regex patterns, not with the number of routes: exact paths
 * are one Map hit, then each distinct `pathRegex` once in config order, then prefixes from the
 * longest segment boundary down, each one Map hit.
 *
 * Order (nginx's `location` order): exact path > path regex (config order) > longest prefix.
 * A regex is tried before prefixes so that `/users/[0-9]+/avatar` can carve a shape out of a
 * `/users` prefix; a prefix cannot carve anything out of a regex.
 */
import type { CompiledRoute } from '../http/route.js';

export type RouteMatch =
  | { kind: 'route'; route: CompiledRoute }
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'none' };

export const NO_MATCH: RouteMatch = { kind: 'none' };

export interface RouteRequest {
  method: string;
  /** Normalised path, no query. */
  path: string;
  /** The routing host (src/http/route-host.ts `routingHost`); only read when some route has `match.host`. */
  host?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** The raw query (parsed only when a candidate route has query conditions), or a function that parses it. */
  query: string | undefined | (() => URLSearchParams);
}

export function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

interface RegexGroup {
  readonly re: RegExp;
  /** The same pattern ignoring case, for {@link PathTable.caseConflict}. */
  readonly folded: RegExp;
  readonly routes: CompiledRoute[];
}

export class PathTable {
  readonly #exact = new Map<string, CompiledRoute[]>();
  readonly #prefix = new Map<string, CompiledRoute[]>();
  readonly #regex: RegexGroup[] = [];
  /** Lower-cased route path → its spelling, for {@link caseConflict}. */
  readonly #foldedExact = new Map<string, string>();
  readonly #foldedPrefix = new Map<string, string>();
  #upperInRoutes = false;

  add(r: CompiledRoute): void {
    if (r.pathRegex) {
      let g = this.#regex.find((x) => x.re.source === r.pathRegex!.source);
      if (!g) this.#regex.push((g = { re: r.pathRegex, folded: new RegExp(r.pathRegex.source, 'i'), routes: [] }));
      g.routes.push(r);
      // `\D`, `\S`, `[A-Z]`: the pattern may tell cases apart, so lower-case paths get the full check.
      if (/[A-Z]/.test(r.pathRegex.source)) this.#upperInRoutes = true;
      return;
    }
    const table = r.exact ? this.#exact : this.#prefix;
    const list = table.get(r.prefix) ?? [];
    list.push(r);
    table.set(r.prefix, list);
    (r.exact ? this.#foldedExact : this.#foldedPrefix).set(r.prefix.toLowerCase(), r.prefix);
    if (r.prefix !== r.prefix.toLowerCase()) this.#upperInRoutes = true;
  }

  /** Call once after the last {@link add}. */
  seal(): void {
    // Among routes on the same path, the more specific (more header/query conditions, then a
    // method list) is tried first; equal ones keep their config order (Array#sort is stable).
    for (const list of [...this.#exact.values(), ...this.#prefix.values(), ...this.#regex.map((g) => g.routes)]) list.sort((a, b) => specificity(b) - specificity(a));
  }

  /**
   * True when a (normalised) path falls under a route path only if letter case is ignored:
   * `/app/ADMIN` with routes `/app` and `/app/admin`. Express and ASP.NET route without regard
   * to case, so such a path would be chosen by one route here and served by another upstream.
   */
  caseConflict(path: string): boolean {
    const lower = path.toLowerCase();
    if (lower === path && !this.#upperInRoutes) return false;
    for (const g of this.#regex) if (g.folded.test(path) && !g.re.test(path)) return true;
    const p = trimSlash(path);
    const l = trimSlash(lower);
    const exact = this.#foldedExact.get(l);
    if (exact !== undefined && exact !== p) return true;
    for (let end = l.length; end > 0; end = l.lastIndexOf('/', end - 1)) {
      const spelled = this.#foldedPrefix.get(end === l.length ? l : l.slice(0, end));
      if (spelled !== undefined && spelled !== p.slice(0, end)) return true;
    }
    return false;
  }

  /** Finds the route for a request: exact, then regexes, then the longest matching prefix. */
  match(req: RouteRequest): RouteMatch {
    let allow: string | undefined;
    const path = trimSlash(req.path);
    const exact = this.#exact.get(path);
    if (exact) {
      const r = pick(exact, req);
      if (r.kind === 'route') return r;
      if (r.kind === 'method-not-allowed') allow = r.allow;
    }
    for (let i = 0; i < this.#regex.length; i++) {
      const g = this.#regex[i]!;
      if (!g.re.test(req.path)) continue;
      const r = pick(g.routes, req);
      if (r.kind === 'route') return r;
      if (r.kind === 'method-not-allowed') allow ??= r.allow;
    }
    let end = path.length;
    while (end > 0) {
      const candidates = this.#prefix.get(end === path.length ? path : path.slice(0, end));
      if (candidates) {
        const r = pick(candidates, req);
        if (r.kind === 'route') return r;
        if (r.kind === 'method-not-allowed') allow ??= r.allow;
      }
      end = path.lastIndexOf('/', end - 1);
    }
    const root = this.#prefix.get('/');
    if (root && path !== '/') {
      const r = pick(root, req);
      if (r.kind === 'route') return r;
      if (r.kind === 'method-not-allowed') allow ??= r.allow;
    }
    return allow !== undefined ? { kind: 'method-not-allowed', allow } : NO_MATCH;
  }
}

function specificity(r: CompiledRoute): number {
  return (r.headers.length + r.query.length) * 2 + (r.methods ? 1 : 0);
}

function pick(candidates: CompiledRoute[], req: RouteRequest): RouteMatch {
  let allow: string | undefined;
  let params: URLSearchParams | undefined;
  outer: for (const r of candidates) {
    for (const [name, value] of r.headers) {
      if (req.headers[name] !== value) continue outer;
    }
    if (r.query.length) {
      params ??= typeof req.query === 'function' ? req.query() : new URLSearchParams(req.query);
      for (const [name, value] of r.query) if (params.get(name) !== value) continue outer;
    }
    if (r.methods && !r.methods.has(req.method)) {
      allow = allow ? `${allow}, ${r.allow}` : r.allow;
      continue;
    }
    return { kind: 'route', route: r };
  }
  return allow !== undefined ? { kind: 'method-not-allowed', allow } : NO_MATCH;
}
