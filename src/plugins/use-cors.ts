/**
 * CORS (`server.cors`), following the Fetch standard's CORS protocol: a strict origin
 * allow-list, preflights (`OPTIONS` with `Access-Control-Request-Method`) answered by the
 * gateway itself before routing, auth or limits, and `Vary: Origin` on every answer so shared
 * caches keep origins apart. `*` is only honoured without credentials (a config check refuses
 * the combination).
 */
import { Forbidden } from '../errors.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useCors}. */
export interface CorsOptions {
  /** Allowed origins, exact (`https://app.example.com`) or `*`. */
  origins: string[];
  /** Send `Access-Control-Allow-Credentials: true`. @default false */
  credentials?: boolean;
  /** Methods a preflight may ask for. @default GET, POST, PUT, PATCH, DELETE, OPTIONS */
  methods?: string[];
  /** Request headers a preflight may ask for; absent: the ones asked for are allowed. */
  allowHeaders?: string[];
  /** Response headers scripts may read. @default [] */
  exposeHeaders?: string[];
  /** How long browsers may cache a preflight. @default 600 */
  maxAgeSec?: number;
}

export function useCors(opts: CorsOptions | undefined): GatewayPlugin {
  if (!opts) return { name: 'cors' };
  const any = opts.origins.includes('*') && !opts.credentials;
  const origins = new Set(opts.origins.filter((o) => o !== '*').map((o) => o.replace(/\/$/, '').toLowerCase()));
  const methods = (opts.methods ?? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).map((m) => m.toUpperCase());
  const methodSet = new Set(methods);
  const allowMethods = methods.join(', ');
  const allowHeaders = opts.allowHeaders?.join(', ');
  const expose = opts.exposeHeaders?.length ? opts.exposeHeaders.join(', ') : undefined;
  const maxAge = String(opts.maxAgeSec ?? 600);
  const credentials = opts.credentials ?? false;

  return {
    name: 'cors',
    onRequest(ctx) {
      const res = ctx.res;
      res.setHeader('Vary', 'Origin');
      ctx.corsOwned = true;
      const origin = ctx.req.headers.origin;
      if (origin === undefined) return;
      const allowed = any || origins.has(origin.toLowerCase());
      const preflight = ctx.method === 'OPTIONS' && ctx.req.headers['access-control-request-method'] !== undefined;
      if (!allowed) {
        // A browser blocks the answer anyway; refusing the preflight keeps the real call from being sent.
        if (preflight) throw Forbidden(`origin ${origin} is not allowed`);
        return;
      }
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      if (credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
      if (!preflight) {
        if (expose) res.setHeader('Access-Control-Expose-Headers', expose);
        return;
      }
      const asked = String(ctx.req.headers['access-control-request-method']).toUpperCase();
      if (!methodSet.has(asked)) throw Forbidden(`method ${asked} is not allowed by CORS`);
      res.setHeader('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
      res.setHeader('Access-Control-Allow-Methods', allowMethods);
      const askedHeaders = ctx.req.headers['access-control-request-headers'];
      const headers = allowHeaders ?? (typeof askedHeaders === 'string' ? askedHeaders : undefined);
      if (headers) res.setHeader('Access-Control-Allow-Headers', headers);
      res.setHeader('Access-Control-Max-Age', maxAge);
      res.writeHead(204, { 'Content-Length': '0' });
      res.end();
    },
  };
}
