/**
 * `routes[].match.pathRegex`: a JavaScript regular expression that must match the whole
 * normalised path (it is compiled once as `^(?:pattern)$`, case-sensitive, no flags).
 *
 * Two guards against a path crafted to make a route regex backtrack for seconds (ReDoS):
 *
 * 1. At config check, safe-regex2 (the checker Fastify's router uses) refuses nested quantifiers
 *    (star height above 1, such as `(a+)+`) and more than 25 quantifiers.
 * 2. A static checker cannot see polynomial blow-ups (`/.*-.*-.*\.png` takes seconds on a few
 *    thousand `-`), so every pattern must also be one V8's linear-time engine can run (no
 *    backreferences, no lookaround, bounded repeats of at most 16), and V8 is told to finish any
 *    regular expression that passes 50,000 backtracks on that engine instead
 *    (`--enable-experimental-regexp-engine-on-excessive-backtracks`). Ordinary matches keep the
 *    fast backtracking engine; a hostile path costs at most the backtrack budget plus one linear
 *    pass. The flag is process-wide: a regular expression that would otherwise run away now ends
 *    with the same answer, in linear time. It is set only once a path regex is compiled.
 */
import { setFlagsFromString } from 'node:v8';
import safeRegex from 'safe-regex2';

let linearEngineOn = false;

/** Lets `l` (linear-time engine) compile, and excessive backtracking fall back to that engine. */
function enableLinearFallback(): void {
  if (linearEngineOn) return;
  setFlagsFromString('--enable-experimental-regexp-engine');
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  linearEngineOn = true;
}

/** The anchored regular expression, or a message saying why the pattern is refused. */
export function compilePathRegex(pattern: string): RegExp | string {
  if (pattern === '') return 'must not be empty';
  const source = `^(?:${pattern})$`;
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  if (!safeRegex(pattern)) return 'refused: it can backtrack catastrophically (nested quantifiers such as (a+)+, or more than 25 quantifiers)';
  enableLinearFallback();
  try {
    new RegExp(source, 'l');
  } catch {
    return 'refused: it has no linear-time match (backreferences, lookahead/lookbehind, or a repeat count above 16 are not allowed)';
  }
  return re;
}
