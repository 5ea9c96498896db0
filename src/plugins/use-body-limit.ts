import { PayloadTooLarge } from '../errors.js';
import type { GatewayPlugin } from './types.js';
import { closeConnectionAfter } from '../http/close-connection.js';

/** Options for {@link useBodyLimit}. */
export interface BodyLimitOptions {
  /** Largest accepted request body in bytes. @default 1048576 */
  maxBodyBytes?: number;
}

/**
 * Rejects a declared `Content-Length` over the limit before anything reads the body.
 * Chunked bodies are counted where they are read: the GraphQL body reader and the
 * passthrough proxy both stop at the same limit, so an upstream never sees a partial body.
 */
export function useBodyLimit(opts: BodyLimitOptions = {}): GatewayPlugin {
  const max = opts.maxBodyBytes ?? 1_048_576;
  return {
    name: 'body-limit',
    onRequest(ctx) {
      const declared = ctx.req.headers['content-length'];
      if (declared !== undefined && Number(declared) > max) {
        // The body will not be read: close the connection after answering.
        closeConnectionAfter(ctx.res);
        throw PayloadTooLarge(max);
      }
      ctx.maxBodyBytes = max;
    },
  };
}
