/**
 * The direct GraphQL path (`graphql.fastPath`): the common request, a POST of a JSON body
 * `{ query, variables?, operationName? }` asking for a JSON answer, is executed without
 * yoga's Fetch-API layer. The gateway has already read the body from node's request; this
 * parses it, runs the operation through yoga's own envelop (so parse and validation caches,
 * demand control, field limits, tracing, metrics and error masking are the same hooks as on
 * the full path) and writes the answer straight to node's response.
 *
 * Anything else goes to yoga untouched: GET, other media types, batched or persisted requests
 * (`extensions`, `documentId`), Accept values outside the table below, subscriptions,
 * non-object bodies and invalid JSON. Status codes and bodies follow the same rules as yoga's
 * (GraphQL over HTTP: `application/graphql-response+json` answers request errors with 4xx,
 * `application/json` with 200); test/graphql-fast-path.test.ts compares both paths.
 */
import { GraphQLError, getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../context.js';
import type { ServerContext } from './create-yoga.js';
import type { GraphQLContext } from './define-resolvers.js';
import { compressWhole, wholeBodyEncoding } from '../plugins/use-compression.js';
import { createDocumentCache } from './document-cache.js';

const JSON_MEDIA = 'application/json';
const GQL_MEDIA = 'application/graphql-response+json';

/** Accept values answered here, and the media type yoga would pick for each (first listed wins). */
const ACCEPTED = new Map<string | undefined, string>([
  [undefined, JSON_MEDIA],
  ['', JSON_MEDIA],
  ['*/*', JSON_MEDIA],
  [JSON_MEDIA, JSON_MEDIA],
  [GQL_MEDIA, GQL_MEDIA],
  [`${GQL_MEDIA}, ${JSON_MEDIA}`, GQL_MEDIA],
  [`${GQL_MEDIA},${JSON_MEDIA}`, GQL_MEDIA],
  [`${JSON_MEDIA}, ${GQL_MEDIA}`, JSON_MEDIA],
  [`${GQL_MEDIA}, ${JSON_MEDIA}, */*`, GQL_MEDIA],
  [`${JSON_MEDIA}, */*`, JSON_MEDIA],
]);

/**
 * What yoga's envelop hooks see as `context.request` on this path: they read only its method
 * (e.g. the parse hook that turns a syntax error into GRAPHQL_PARSE_FAILED / 400 for POSTs).
 */
const DIRECT_REQUEST = Object.freeze({ method: 'POST' });

const CONTENT_TYPE = { [JSON_MEDIA]: `${JSON_MEDIA}; charset=utf-8`, [GQL_MEDIA]: `${GQL_MEDIA}; charset=utf-8` } as Record<string, string>;

interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** What parsing and validating one document text gave, kept for the next request with that text. */
type Prepared = { document: DocumentNode; errors: undefined } | { document: undefined; errors: readonly GraphQLError[] };


export interface FastPathOptions {
  /** yoga's error masking, applied to errors thrown before execution (as yoga does). */
  maskError: (error: unknown, message: string) => Error;
  /** Compress answers above this many bytes when the client accepts br/gzip; undefined: off. */
  compressionThreshold: number | undefined;
  /**
   * Reuse a document's parse and validation result for later requests with the same text
   * (false when a plugin must see every parse, e.g. tracing). Schema and rules never change
   * within one gateway instance; a reload builds a new one.
   */
  reuseValidation: boolean;
  /**
   * Bytes (estimated, see document-cache.ts) of remembered outcomes; the least recently used is
   * forgotten first and long texts are never kept. @default 4 MiB
   */
  cacheBytes?: number;
}

export interface GraphqlFastPath {
  /** Answers the request and returns true, or returns false (nothing written) for yoga to answer. */
  handle(ctx: RequestContext): boolean | Promise<boolean>;
}

function isJsonContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  if (ct === JSON_MEDIA || ct === 'application/json; charset=utf-8') return true;
  const first = ct.split(',')[0]!;
  return first === JSON_MEDIA || first.startsWith(`${JSON_MEDIA};`) || first === 'application/graphql+json' || first.startsWith('application/graphql+json;');
}

/** The body's params, or undefined when it is not the plain shape this path serves. */
function paramsOf(body: Buffer): Params | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.query !== 'string') return undefined;
  let n = 1;
  if (o.variables !== undefined) {
    n++;
    if (o.variables !== null && (typeof o.variables !== 'object' || Array.isArray(o.variables))) return undefined;
  }
  if (o.operationName !== undefined) {
    n++;
    if (o.operationName !== null && typeof o.operationName !== 'string') return undefined;
  }
  if (o.extensions !== undefined) {
    // `extensions: null` or `{}` is common from clients; anything in it (APQ) is yoga's.
    if (o.extensions !== null && (typeof o.extensions !== 'object' || Object.keys(o.extensions).length > 0)) return undefined;
    n++;
  }
  // Unknown keys (documentId, id, batching shapes) are for yoga's parsers and checks.
  for (const _k in o) if (--n < 0) return undefined;
  return o as unknown as Params;
}

function isOriginalGraphQLError(e: unknown): boolean {
  while (e instanceof GraphQLError) {
    if (e.originalError == null) return true;
    e = e.originalError;
  }
  return false;
}

interface HttpExtension { status?: number; headers?: Record<string, string>; spec?: boolean }

/** HTTP status and extra headers for a result, by GraphQL over HTTP's rules as yoga applies them. */
export function responseInit(result: ExecutionResult, media: string): { status: number; headers: Record<string, string> | undefined } {
  let status: number | undefined;
  let headers: Record<string, string> | undefined;
  const top = result.extensions?.http as HttpExtension | undefined;
  if (top) {
    if (top.headers) headers = { ...top.headers };
    if (top.status) status = top.status;
  }
  const errors = result.errors;
  if (errors?.length) {
    // With application/json, request errors (spec) keep 200 when every error is a GraphQL error.
    const jsonPrefers200 =
      media === JSON_MEDIA &&
      errors.every((e) => e instanceof GraphQLError) &&
      errors.some((e) => {
        const orig = e.extensions?.originalError;
        return !orig || orig instanceof GraphQLError;
      });
    let unexpected = false;
    for (const error of errors) {
      const http = error.extensions?.http as HttpExtension | undefined;
      if (http) {
        if (http.headers) headers = { ...headers, ...http.headers };
        if (jsonPrefers200 && http.spec) continue;
        if (http.status && (!status || http.status > status)) status = http.status;
      } else if (!isOriginalGraphQLError(error) || error.extensions?.unexpected) {
        unexpected = true;
      }
    }
    status ??= unexpected && !('data' in result) ? 500 : 200;
  }
  return { status: status ?? 200, headers };
}

/**
 * The result without the internal extensions (`http`, `unexpected`) that never go on the wire.
 * Errors are rebuilt from their nodes, source and positions, as yoga's serialiser does, so
 * both paths print the same locations.
 */
function publicResult(result: ExecutionResult): unknown {
  const out: Record<string, unknown> = {};
  if (result.errors) {
    out.errors = result.errors.map((e) => {
      if (!(e instanceof GraphQLError)) return { message: (e as Error).message };
      const { http: _h, unexpected: _u, ...rest } = e.extensions ?? {};
      return new GraphQLError(e.message, {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        path: e.path,
        originalError: e.originalError,
        extensions: Object.keys(rest).length ? rest : undefined,
      }).toJSON();
    });
  }
  if ('data' in result) out.data = result.data;
  if (result.extensions) {
    const { http: _h, ...rest } = result.extensions;
    if (Object.keys(rest).length) out.extensions = rest;
  }
  return out;
}

function serialize(result: ExecutionResult & { stringify?: (v: unknown) => string }): string {
  if (!result.errors?.length && !result.extensions?.http) return (result.stringify ?? JSON.stringify)(result);
  return JSON.stringify(publicResult(result));
}

export function createGraphqlFastPath(
  yoga: YogaServerInstance<ServerContext, GraphQLContext>,
  opts: FastPathOptions,
): GraphqlFastPath {
  const { maskError, compressionThreshold, reuseValidation } = opts;
  const prepared = reuseValidation ? createDocumentCache<Prepared>(opts.cacheBytes ?? 4 * 1024 * 1024) : undefined;

  /** Parses and validates through envelop (every hook runs), remembering the outcome when allowed. */
  function prepare(enveloped: Enveloped, query: string): Prepared {
    const document = enveloped.parse(query);
    const errors = enveloped.validate(enveloped.schema, document);
    const out: Prepared = errors.length > 0 ? { document: undefined, errors } : { document, errors: undefined };
    prepared?.set(query, out);
    return out;
  }

  function send(ctx: RequestContext, result: ExecutionResult, media: string): void | Promise<void> {
    const { status, headers: extra } = responseInit(result, media);
    const text = serialize(result);
    const headers: OutgoingHttpHeaders = { 'content-type': CONTENT_TYPE[media] };
    if (extra) Object.assign(headers, extra);
    const size = Buffer.byteLength(text);
    if (compressionThreshold !== undefined) {
      const enc = wholeBodyEncoding(ctx.req.headers['accept-encoding'], headers['content-type'], size, compressionThreshold);
      if (enc) return sendCompressed(ctx, status, headers, text, enc);
    }
    headers['content-length'] = size;
    ctx.res.writeHead(status, headers);
    ctx.res.end(text);
  }

  async function sendCompressed(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, text: string, enc: 'br' | 'gzip'): Promise<void> {
    const body = await compressWhole(enc, Buffer.from(text));
    headers['content-encoding'] = enc;
    headers.vary = 'Accept-Encoding';
    headers['content-length'] = body.length;
    ctx.res.writeHead(status, headers);
    ctx.res.end(body);
  }

  function fail(ctx: RequestContext, error: unknown, media: string): void | Promise<void> {
    const masked = maskError(error, 'Unexpected error.');
    const gqlError = masked instanceof GraphQLError ? masked : new GraphQLError(masked.message, { originalError: masked });
    return send(ctx, { errors: [gqlError] }, media);
  }

  async function finish(ctx: RequestContext, pending: Promise<unknown>, media: string): Promise<boolean> {
    try {
      const result = await pending;
      await send(ctx, result as ExecutionResult, media);
    } catch (error) {
      await fail(ctx, error, media);
    }
    return true;
  }

  return {
    handle(ctx) {
      const headers = ctx.req.headers;
      const media = ACCEPTED.get(headers.accept);
      if (media === undefined || ctx.body === undefined || !isJsonContentType(headers['content-type'])) return false;
      const params = paramsOf(ctx.body);
      if (!params) return false;

      const context = { gw: ctx, params, request: DIRECT_REQUEST } as unknown as ServerContext & Record<string, unknown>;
      const enveloped = yoga.getEnveloped(context as never);
      let result: unknown;
      try {
        const { document, errors } = prepared?.get(params.query) ?? prepare(enveloped, params.query);
        if (errors) {
          result = { errors };
        } else {
          const op = getOperationAST(document, params.operationName ?? undefined);
          // Subscriptions and anything streamed are yoga's to answer (event stream / multipart).
          if (op?.operation === 'subscription') return false;
          result = runOperation(enveloped, document, params);
        }
      } catch (error) {
        const out = fail(ctx, error, media);
        return out ? out.then(() => true) : true;
      }
      if (result instanceof Promise) return finish(ctx, result, media);
      const out = send(ctx, result as ExecutionResult, media);
      return out ? out.then(() => true) : true;
    },
  };
}

type Enveloped = ReturnType<YogaServerInstance<ServerContext, GraphQLContext>['getEnveloped']>;

function runOperation(enveloped: Enveloped, document: ReturnType<Enveloped['parse']>, params: Params): unknown {
  const contextValue = enveloped.contextFactory();
  if (contextValue instanceof Promise) {
    return contextValue.then((c) => executeWith(enveloped, document, params, c));
  }
  return executeWith(enveloped, document, params, contextValue);
}

function executeWith(enveloped: Enveloped, document: ReturnType<Enveloped['parse']>, params: Params, contextValue: unknown): unknown {
  const out = enveloped.execute({
    schema: enveloped.schema,
    document,
    contextValue,
    variableValues: params.variables ?? undefined,
    operationName: params.operationName ?? undefined,
  });
  // A streamed result (defer/stream) cannot be answered as one JSON body here.
  if (out instanceof Promise) return out.then(rejectStreams);
  return rejectStreams(out);
}

function rejectStreams(out: unknown): unknown {
  if (out && typeof out === 'object' && Symbol.asyncIterator in out) {
    throw new GraphQLError('streamed results need an event-stream or multipart Accept header', { extensions: { code: 'BAD_REQUEST', http: { status: 406 } } });
  }
  return out;
}
