/**
 * Path rewriting for passthrough routes, compiled once per route at start-up:
 * `stripPrefix`, then the regex rewrite, then `addPrefix`. The input is the normalised path
 * the route matched; the query string is appended afterwards, unchanged.
 */
import type { RouteConfig } from '../config/schema.js';

export type RewritePath = (path: string) => string;

const IDENTITY: RewritePath = (p) => p;

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export function compileRewrite(rewrite: RouteConfig['rewrite']): RewritePath {
  if (!rewrite) return IDENTITY;
  const strip = rewrite.stripPrefix ? trimSlash(rewrite.stripPrefix) : undefined;
  const add = rewrite.addPrefix ? trimSlash(rewrite.addPrefix) : undefined;
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
    }
    if (add && add !== '/') p = p === '/' ? add : add + p;
    return p;
  };
}
