/**
 * `routes[].match.pathRegex`: a JavaScript regular expression that must match the whole
 * normalised path (it is compiled once as `^(?:pattern)$`, case-sensitive, no flags).
 *
 * A pattern that can backtrack catastrophically is refused at config check: safe-regex2 (the
 * checker Fastify's router uses) rejects nested quantifiers (star height above 1, such as
 * `(a+)+`) and more than 25 quantifiers in one pattern. Paths are also bounded by the server's
 * header size limit, which bounds the polynomial cases the checker does not see.
 */
import safeRegex from 'safe-regex2';

/** The anchored regular expression, or a message saying why the pattern is refused. */
export function compilePathRegex(pattern: string): RegExp | string {
  if (pattern === '') return 'must not be empty';
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  if (!safeRegex(pattern)) return 'refused: it can backtrack catastrophically (nested quantifiers such as (a+)+, or more than 25 quantifiers)';
  return re;
}
