import { randomUUID } from 'node:crypto';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useRequestId}. */
export interface RequestIdOptions {
  /** Header read from the client and echoed back. @default "x-request-id" */
  header?: string;
}

/** 1–128 visible ASCII characters (0x21–0x7e). */
export function isValidRequestId(id: string): boolean {
  if (id.length === 0 || id.length > 128) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Gives every request an id: the client's when it is 1–128 visible ASCII characters, else a
 * new UUID. Echoed in `X-Request-Id` on every response and sent to upstreams.
 */
export function useRequestId(opts: RequestIdOptions = {}): GatewayPlugin {
  const header = (opts.header ?? 'x-request-id').toLowerCase();
  return {
    name: 'request-id',
    onRequest(ctx) {
      const given = ctx.req.headers[header];
      ctx.id = typeof given === 'string' && isValidRequestId(given) ? given : randomUUID();
      ctx.res.setHeader('X-Request-Id', ctx.id);
    },
  };
}
