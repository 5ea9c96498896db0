/**
 * Path rewriting for passthrough routes, compiled once per route at start-up:
 * `stripPrefix`, then the regex rewrite, then `addPrefix`. The input is the normalised path
 * the route matched; the query string is appended afterwards, unchanged.
 */
import type { RouteConfig } from '../config/schema.js';
import { BadRequest } from '../errors.js';
import { normalizePath } from '../http/normalize-path.js';

import type { RewritePath } from '../http/route.js';

export type { RewritePath } from '../http/route.js';

const IDENTITY: RewritePath = (p) => p;

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function canonical(p: string): string {
  const n = normalizePath(p);
  if (n.reject !== undefined) throw new Error(`rewrite prefix ${p} is refused by path normalisation (${n.reject})`);
  return n.path;
}

export function compileRewrite(rewrite: RouteConfig['rewrite']): RewritePath {
  if (!rewrite) return IDENTITY;
  const strip = rewrite.stripPrefix ? trimSlash(canonical(rewrite.stripPrefix)) : undefined;
  const add = rewrite.addPrefix ? trimSlash(canonical(rewrite.addPrefix)) : undefined;
  const re = rewrite.regex ? new RegExp(rewrite.regex.pattern) : undefined;
  const replacement = rewrite.regex?.replacement ?? '';
  return (path) => {
    let p = path;
    if (strip && strip !== '/' && p.startsWith(strip) && (p.length === strip.length || p.charCodeAt(strip.length) === 47)) {
      p = p.length === strip.length ? '/' : p.slice(strip.length);
    }
    if (re) {
      p = p.replace(re, replacement);
      if (p.charCodeAt(0) !== 47) p = '/' + p;
      // A replacement can join pieces of segments into a new dot segment or `//`; never send one on.
      const n = normalizePath(p);
      if (n.path !== p) throw BadRequest(n.reject ?? 'rewritten path is not normalised');
    }
    if (add && add !== '/') p = p === '/' ? add : add + p;
    return p;
  };
}
