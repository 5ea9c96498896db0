/**
 * One log line per GraphQL error in an answer, with the request id, at a level that says whose
 * problem it is:
 *
 * - `error`: an internal error (a resolver's TypeError, a bug in a plugin), masked for the client
 *   as INTERNAL_SERVER_ERROR; logged once, here, with the original error and its stack;
 * - `warn`: an upstream fault (UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, UPSTREAM_ERROR);
 * - `info`: what the client caused (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, validation, parse,
 *   persisted-query and limit errors).
 *
 * Both GraphQL paths (yoga's result processing and the direct path's `send`) call
 * {@link logGraphqlErrors}, and it sets the access log's `errorCode` (the first error's code).
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { BadRequest, InternalError } from '../errors.js';
import type { RequestContext } from '../context.js';
import type { Logger } from '../telemetry/logger.js';

/** Masked errors → the error they hide. Weak: an answer's errors go with the answer. */
const internalCauses = new WeakMap<object, unknown>();

/** Called by the masking function: `masked` stands for `cause`, which the log line will show. */
export function rememberInternalCause(masked: object, cause: unknown): void {
  internalCauses.set(masked, cause);
}

const UPSTREAM_PREFIX = 'UPSTREAM_';

function codeOf(err: unknown): string | undefined {
  const code = (err as { extensions?: { code?: unknown } } | undefined)?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Logs each error of `result` (one result, or a batch) and records the first code on `ctx`. */
export function logGraphqlErrors(logger: Logger, ctx: RequestContext, result: unknown): void {
  if (Array.isArray(result)) {
    for (const r of result) logGraphqlErrors(logger, ctx, r);
    return;
  }
  const errors = (result as ExecutionResult | undefined)?.errors;
  if (!errors?.length) return;
  const requestId = ctx.id;
  for (const err of errors) {
    const cause = internalCauses.get(err);
    const code = codeOf(err);
    const path = (err as GraphQLError).path;
    if (cause !== undefined || code === InternalError.code) {
      logger.error({ requestId, code: InternalError.code, path, err: cause ?? err }, 'internal error');
    } else if (code?.startsWith(UPSTREAM_PREFIX)) {
      logger.warn({ requestId, code, path, reason: err.message }, 'upstream fault');
    } else {
      logger.info({ requestId, code, path, reason: err.message }, 'client error');
    }
  }
  // A request error yoga raises without a code (e.g. "Must provide query string.") is still the client's.
  ctx.errorCode ??= codeOf(errors[0]) ?? (internalCauses.has(errors[0]!) ? InternalError.code : BadRequest.code);
}
