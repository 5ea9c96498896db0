/**
 * Batched GraphQL requests: one POST whose JSON body is an array of operations, as sent by
 * graphql-request's `batchRequests` and Apollo Client's BatchHttpLink, answered with an array of
 * results in the same order.
 *
 * Off unless `graphql.batching` is set; then a batch is refused with 400 BATCHING_DISABLED,
 * which names the key. A batch with more than `maxBatchSize` operations is refused with 400
 * BATCH_TOO_LARGE, and an empty one with 400 BAD_REQUEST, before any operation is looked at.
 *
 * yoga runs each operation of an accepted batch through its own parameter, parse, validate and
 * execute steps, so every per-operation rule applies to each one as if it came alone: persisted
 * operations, demand control (depth, aliases, directives, cost) and field limits. The
 * request-level rate limits take one point per operation (see use-rate-limit.ts).
 *
 * The direct GraphQL path (src/graphql/fast-path.ts) takes only single-operation bodies, so every
 * batch goes through yoga and through this check.
 */
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { BadRequest, BatchTooLarge, BatchingDisabled } from '../errors.js';
import { requestError } from '../graphql/request-error.js';
import { reproducedByDirectPath } from '../graphql/yoga-http-port.js';
import type { ServerContext } from '../graphql/create-yoga.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useBatching}. */
export interface BatchingOptions {
  /** Most operations in one batch; undefined: batches are refused. @default undefined */
  maxBatchSize?: number;
}

export function useBatching(opts: BatchingOptions): GatewayPlugin {
  const max = opts.maxBatchSize;
  const yoga: YogaPlugin = {
    onRequestParse({ serverContext }) {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (!Array.isArray(requestParserResult)) return;
          const ctx = (serverContext as Partial<ServerContext> | undefined)?.gw;
          const n = requestParserResult.length;
          if (max === undefined) throw requestError(BatchingDisabled(), ctx);
          if (n === 0) throw requestError(BadRequest('a batch needs at least one operation'), ctx);
          if (n > max) throw requestError(BatchTooLarge(n, max), ctx);
        },
      };
    },
  };
  return {
    name: 'batching',
    yogaPlugins: [reproducedByDirectPath(yoga, 'the direct path takes no batches: an array body always goes to yoga')],
  };
}
