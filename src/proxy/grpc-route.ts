/**
 * REST → gRPC translation for routes with `grpc: { method, repeated }`: the query string (and a
 * JSON body, when one is sent) becomes the request message, the unary answer goes back as
 * JSON. `GET /api/products?ids=1,2` with `repeated: [ids]` calls
 * `catalog.v1.Catalog/GetProducts` with `{ ids: ["1", "2"] }`.
 */
import type { RequestContext } from '../context.js';
import { BadRequest, UpstreamError } from '../errors.js';
import type { GrpcUpstream } from '../upstream/grpc/grpc-upstream.js';
import type { CompiledRoute } from './route-table.js';
import { hasRequestBody, readWholeBody, type BodyLimits } from './request-body.js';
import { checkMessage, fromQueryText } from './grpc-message.js';
import { sendBuffer } from './respond.js';
import type protobuf from 'protobufjs';

async function readJsonBody(ctx: RequestContext, limits: BodyLimits): Promise<unknown> {
  const text = (await readWholeBody(ctx.req, limits)).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw BadRequest('request body is not valid JSON');
  }
}

/**
 * Builds the request message from the query string and the JSON body (body fields win), and
 * checks it against the request type: anything the type cannot encode as sent is a 400 here,
 * before the upstream is called.
 */
export async function grpcRequestMessage(ctx: RequestContext, route: CompiledRoute, type: protobuf.Type, limits: BodyLimits): Promise<Record<string, unknown>> {
  const message: Record<string, unknown> = {};
  if (ctx.query) {
    for (const [name, value] of new URLSearchParams(ctx.query)) {
      if (!Object.hasOwn(type.fields, name)) throw BadRequest(`query parameter ${name}: unknown field of ${type.name}`);
      const field = type.fields[name]!;
      if (field.repeated) {
        const list = (message[name] as unknown[] | undefined) ?? [];
        const parts = route.grpcRepeated.has(name) ? value.split(',') : [value];
        for (const v of parts) if (v) list.push(fromQueryText(field, v));
        message[name] = list;
      } else {
        if (Object.hasOwn(message, name)) throw BadRequest(`query parameter ${name}: given more than once`);
        message[name] = fromQueryText(field, value);
      }
    }
  }
  if (hasRequestBody(ctx.req)) {
    const body = await readJsonBody(ctx, limits);
    if (body !== undefined) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw BadRequest('request body must be a JSON object');
      // Checked before it is merged: a `__proto__` key is refused as an unknown field, never assigned.
      checkMessage(type, body);
      for (const [k, v] of Object.entries(body)) message[k] = v;
    }
  }
  return checkMessage(type, message);
}

export async function proxyGrpc(ctx: RequestContext, route: CompiledRoute, up: GrpcUpstream, limits: BodyLimits): Promise<void> {
  const method = route.grpcMethod!;
  const service = route.config.grpc!.method.slice(0, route.config.grpc!.method.lastIndexOf('/'));
  const type = up.requestTypes.get(method);
  if (service !== up.service.fullName || !up.service.methods.has(method) || !type) {
    throw UpstreamError(up.name, `no gRPC method ${route.config.grpc!.method}`);
  }
  const message = await grpcRequestMessage(ctx, route, type, limits);
  const response = await up.unary(ctx, method, message, { timeoutMs: route.config.timeoutMs });
  const body = Buffer.from(JSON.stringify(response ?? {}));
  sendBuffer(ctx, 200, { 'content-type': 'application/json; charset=utf-8' }, body);
}
