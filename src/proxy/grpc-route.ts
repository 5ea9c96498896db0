/**
 * REST → gRPC translation for routes with `grpc: { method, repeated }`: the query string (and a
 * JSON body, when one is sent) becomes the request message, the unary answer goes back as
 * JSON. `GET /api/products?ids=1,2` with `repeated: [ids]` calls
 * `catalog.v1.Catalog/GetProducts` with `{ ids: ["1", "2"] }`.
 */
import type { RequestContext } from '../context.js';
import { BadRequest, PayloadTooLarge, UpstreamError } from '../errors.js';
import type { GrpcUpstream } from '../upstream/grpc/grpc-upstream.js';
import type { CompiledRoute } from './route-table.js';
import { hasRequestBody } from './request-body.js';
import { sendBuffer } from './respond.js';

async function readJsonBody(ctx: RequestContext, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > max) {
      ctx.res.setHeader('Connection', 'close');
      throw PayloadTooLarge(max);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw BadRequest('request body is not valid JSON');
  }
}

/** Builds the request message from the query string and the JSON body (body fields win). */
export async function grpcRequestMessage(ctx: RequestContext, route: CompiledRoute, max: number): Promise<Record<string, unknown>> {
  const message: Record<string, unknown> = {};
  if (ctx.query) {
    for (const [name, value] of new URLSearchParams(ctx.query)) {
      if (route.grpcRepeated.has(name)) {
        const list = (message[name] as string[] | undefined) ?? [];
        for (const v of value.split(',')) if (v) list.push(v);
        message[name] = list;
      } else {
        message[name] = value;
      }
    }
  }
  if (hasRequestBody(ctx.req)) {
    const body = await readJsonBody(ctx, max);
    if (body !== undefined) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw BadRequest('request body must be a JSON object');
      Object.assign(message, body);
    }
  }
  return message;
}

export async function proxyGrpc(ctx: RequestContext, route: CompiledRoute, up: GrpcUpstream, max: number): Promise<void> {
  const method = route.grpcMethod!;
  const service = route.config.grpc!.method.slice(0, route.config.grpc!.method.lastIndexOf('/'));
  if (service !== up.service.fullName || !up.service.methods.has(method)) {
    throw UpstreamError(up.name, `no gRPC method ${route.config.grpc!.method}`);
  }
  const message = await grpcRequestMessage(ctx, route, max);
  const response = await up.unary(ctx, method, message, { timeoutMs: route.config.timeoutMs });
  const body = Buffer.from(JSON.stringify(response ?? {}));
  sendBuffer(ctx, 200, { 'content-type': 'application/json; charset=utf-8' }, body);
}
