/**
 * A gateway error raised inside yoga's request handling (parsing, parameters), turned into the
 * GraphQL error yoga answers with: the gateway's code in `extensions.code`, its HTTP status and
 * headers in `extensions.http` (which yoga applies and never sends). The code is noted on the
 * request context for the access log.
 */
import { GraphQLError } from 'graphql';
import type { GatewayError } from '../errors.js';
import type { RequestContext } from '../context.js';

export function requestError(err: GatewayError, ctx?: RequestContext): GraphQLError {
  if (ctx) ctx.errorCode ??= err.code;
  return new GraphQLError(err.message, {
    extensions: { code: err.code, http: err.headers ? { status: err.status, headers: err.headers } : { status: err.status } },
  });
}
