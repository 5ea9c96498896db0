/**
 * Passthrough: streams a matched request to its route's upstream through the shared upstream
 * layer and streams the answer back. Bodies are never buffered.
 */
import { pipeline } from 'node:stream/promises';
import type { RequestContext } from '../context.js';
import type { Upstreams } from '../../upstreams/create-upstreams.js';
import type { CompiledRoute } from './route-table.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'x-user-id', 'x-user-roles', 'x-client-id',
]);

export async function proxyRequest(ctx: RequestContext, route: CompiledRoute, upstreams: Upstreams): Promise<void> {
  const up = upstreams.http(route.upstream);
  const headers: Record<string, string | string[] | undefined> = {};
  const inHeaders = ctx.req.headers;
  for (const name in inHeaders) if (!HOP_BY_HOP.has(name)) headers[name] = inHeaders[name];
  headers['x-request-id'] = ctx.id;
  const hasBody = ctx.req.headers['content-length'] !== undefined || ctx.req.headers['transfer-encoding'] !== undefined;
  const path = ctx.query ? `${ctx.path}?${ctx.query}` : ctx.path;
  const result = await up.request(up.call(ctx, ctx.method, path, hasBody ? ctx.req : null, headers));
  ctx.upstreamCalls++;
  const out: Record<string, string | string[]> = {};
  for (const name in result.headers) if (!HOP_BY_HOP.has(name)) out[name] = result.headers[name]!;
  ctx.res.writeHead(result.statusCode, out);
  await pipeline(result.body, ctx.res);
}
