/**
 * Config checks of a route's header operations and `transform` section (called from
 * ./cross-checks.ts, so they run on half-valid files too): no operation may write a header the
 * gateway owns, templates must parse, and every JSONata expression must compile; on a route with
 * `cache`, nothing of one client's request (its headers, `$request`) may shape a stored answer.
 * Each problem is reported at its key path.
 */
import jsonata from 'jsonata';
import { compileHeaderTemplate, isPerRequest } from '../http/header-template.js';
import { isHeaderName, unwritableHeader } from '../http/reserved-headers.js';

/** Where problems go (the zod refinement context; ./cross-checks.ts names the same shape). */
interface IssueSink {
  addIssue(issue: { code: 'custom'; path: Array<string | number>; message: string }): void;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The JSONata syntax error of an expression, or undefined when it compiles. */
export function jsonataSyntaxError(source: string): string | undefined {
  try {
    jsonata(source);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string; position?: number };
    return `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}${e.position !== undefined ? ` (at character ${e.position})` : ''}`;
  }
}

/**
 * True when a JSONata expression reads `$request` (or could, through `$eval`): on a cached route
 * its answer would depend on one client's request and be replayed to others.
 */
export function readsRequest(source: string): boolean {
  let ast: unknown;
  try {
    ast = jsonata(source).ast();
  } catch {
    return false;
  }
  const stack: unknown[] = [ast];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const n of node) stack.push(n);
    } else if (isObj(node)) {
      if (node.type === 'variable' && (node.value === 'request' || node.value === 'eval')) return true;
      for (const k in node) if (k !== 'value' || typeof node[k] === 'object') stack.push(node[k]);
    }
  }
  return false;
}

const CACHED_REQUEST_HEADER = 'a route with cache keys answers by method, host, path and query only: a request header built from the client\'s headers would let one client\'s answer be replayed to others';

function checkHeaderOps(ops: unknown, key: 'requestHeaders' | 'responseHeaders', ctx: IssueSink, cached: boolean): void {
  if (!isObj(ops)) return;
  const direction = key === 'requestHeaders' ? 'request' : 'response';
  const refuse = (path: Array<string | number>, name: string, what: string): void => {
    if (!isHeaderName(name)) {
      ctx.addIssue({ code: 'custom', path: [key, ...path], message: `"${name}" must be a header name (letters, digits and !#$%&'*+-.^_\`|~)` });
      return;
    }
    const why = unwritableHeader(name.toLowerCase(), direction);
    if (why) ctx.addIssue({ code: 'custom', path: [key, ...path], message: `${name} cannot be ${what} by a route: ${why}` });
  };
  if (isObj(ops.add)) {
    for (const [name, value] of Object.entries(ops.add)) {
      refuse(['add', name], name, 'set');
      if (typeof value !== 'string') continue;
      const t = compileHeaderTemplate(value, direction);
      if (typeof t === 'object' && 'error' in t) ctx.addIssue({ code: 'custom', path: [key, 'add', name], message: t.error });
      else if (cached && direction === 'request' && typeof t === 'object' && t.some((p) => typeof p !== 'string' && p.kind === 'request.header')) {
        ctx.addIssue({ code: 'custom', path: [key, 'add', name], message: `${CACHED_REQUEST_HEADER} (\${request.header.…} is refused here)` });
      }
      // The client's address or id would make the upstream's answer one client's, then replayed to others.
      else if (cached && direction === 'request' && typeof t === 'object' && t.some((p) => typeof p !== 'string' && (p.kind === 'client.ip' || p.kind === 'client.id'))) {
        ctx.addIssue({ code: 'custom', path: [key, 'add', name], message: 'a route with cache keys answers by method, host, path and query only: a request header carrying ${client.ip} or ${client.id} would let one client\'s answer be replayed to others' });
      }
      // A cache hit replays the stored answer's headers: one client's values would reach another.
      else if (cached && direction === 'response' && typeof t === 'object' && isPerRequest(t)) {
        ctx.addIssue({ code: 'custom', path: [key, 'add', name], message: 'a route with cache replays stored headers to other clients: use only ${route.name}, ${upstream.name} and ${upstream.status} here' });
      }
    }
  }
  if (isObj(ops.rename)) {
    for (const [from, to] of Object.entries(ops.rename)) {
      refuse(['rename', from], from, 'renamed');
      if (typeof to === 'string') refuse(['rename', from], to, 'written (as a rename target)');
      if (cached && direction === 'request') ctx.addIssue({ code: 'custom', path: [key, 'rename', from], message: `${CACHED_REQUEST_HEADER} (a rename forwards the client's ${from})` });
    }
  }
}

/** One route's header operations and `transform`. */
export function checkRouteTransforms(r: Obj, ctx: IssueSink): void {
  checkHeaderOps(r.requestHeaders, 'requestHeaders', ctx, r.cache !== undefined);
  checkHeaderOps(r.responseHeaders, 'responseHeaders', ctx, r.cache !== undefined);
  const t = r.transform;
  if (!isObj(t)) return;
  if (r.grpc !== undefined) ctx.addIssue({ code: 'custom', path: ['transform'], message: 'transform is for HTTP routes; a REST → gRPC route maps JSON to the proto itself' });
  for (const side of ['request', 'response'] as const) {
    const s = t[side];
    const body = isObj(s) ? s.body : undefined;
    if (typeof body !== 'string' || body === '') continue;
    const problem = jsonataSyntaxError(body);
    if (problem) ctx.addIssue({ code: 'custom', path: ['transform', side, 'body'], message: `invalid JSONata expression: ${problem}` });
    else if (side === 'response' && r.cache !== undefined && readsRequest(body)) {
      ctx.addIssue({ code: 'custom', path: ['transform', side, 'body'], message: 'a route with cache stores the mapped answer for other clients: the response expression may not read $request (nor use $eval)' });
    }
  }
}
