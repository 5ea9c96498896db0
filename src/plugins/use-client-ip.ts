import type { GatewayPlugin } from './types.js';

/** Options for {@link useClientIp}. */
export interface ClientIpOptions {
  /** Believe the left-most `X-Forwarded-For` address (only behind a trusted proxy). @default false */
  trustProxy?: boolean;
}

function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Establishes the client IP used by the IP filter, rate limits and logs. */
export function useClientIp(opts: ClientIpOptions = {}): GatewayPlugin {
  const trust = opts.trustProxy ?? false;
  return {
    name: 'client-ip',
    onRequest(ctx) {
      let ip: string | undefined;
      if (trust) {
        const xff = ctx.req.headers['x-forwarded-for'];
        const first = typeof xff === 'string' ? xff.split(',', 1)[0]!.trim() : undefined;
        if (first) ip = first;
      }
      ctx.ip = stripMapped(ip ?? ctx.req.socket.remoteAddress ?? '');
    },
  };
}
