/**
 * Config keys the schema accepts but the engine does not act on yet. Using one is a config
 * error ("not implemented yet"), never a silent no-op. Each capability removes its keys from
 * this table when it lands; docs/configuration.md names the keys still pending.
 */
import type { ConfigProblem } from './problem.js';

type Probe = (config: Record<string, unknown>) => Array<string>;

function at(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** A top-level (dotted) key: reported when present in the raw config. */
function key(path: string): Probe {
  const parts = path.split('.');
  return (raw) => (at(raw, parts) === undefined ? [] : [path]);
}

/** A key inside every entry of a map (`upstreams.*.retry`) or list (`routes[].cache`). */
function each(container: string, sub: string): Probe {
  const cparts = container.split('.');
  const sparts = sub.split('.');
  return (raw) => {
    const c = at(raw, cparts);
    const out: string[] = [];
    if (Array.isArray(c)) c.forEach((e, i) => at(e, sparts) !== undefined && out.push(`${container}[${i}].${sub}`));
    else if (c && typeof c === 'object') for (const [k, e] of Object.entries(c)) if (at(e, sparts) !== undefined) out.push(`${container}.${k}.${sub}`);
    return out;
  };
}

/** Keys awaiting their implementation. Remove an entry in the change that implements it. */
export const PENDING: Probe[] = [
  // schema registry
  key('graphql.persistedOperations.registry'),
];

export { key as pendingKey, each as pendingEach };

export function pendingProblems(raw: unknown): ConfigProblem[] {
  if (!raw || typeof raw !== 'object') return [];
  const problems: ConfigProblem[] = [];
  for (const probe of PENDING) {
    for (const path of probe(raw as Record<string, unknown>)) problems.push({ path, message: 'not implemented yet in this version of the gateway' });
  }
  return problems;
}
