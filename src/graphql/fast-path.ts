/**
 * The direct GraphQL path (`graphql.fastPath`): the common request, a POST of a JSON body
 * `{ query, variables?, operationName? }` asking for a JSON answer, is executed without
 * yoga's Fetch-API layer. The gateway has already read the body from node's request; this
 * parses it, runs the operation through yoga's own envelop (so parse and validation caches,
 * demand control, field limits, tracing, metrics and error masking are the same hooks as on
 * the full path) and writes the answer straight to node's response.
 *
 * What it takes over from yoga's HTTP layer (media types, status rules, serialisation) lives in
 * ./yoga-http-port.ts, tied to the yoga version. It is switched off as a whole, at construction,
 * when a yoga plugin has an HTTP-layer hook this path would skip (directPathBlockers).
 *
 * Anything else goes to yoga untouched: GET, other media types, batched or persisted requests
 * (`extensions`, `documentId`), Accept values yoga answers with a stream or a 406,
 * subscriptions, non-object bodies and invalid JSON. test/graphql-fast-path.test.ts and
 * test/engine/yoga-port.test.ts compare both paths.
 */
import { GraphQLError, Kind, getOperationAST, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { DirectExecution, directExecutionBlockers, type EnvelopPluginHooks } from './direct-execution.js';
import { responseSerializer, type ResultSerializer } from './compiled-execution.js';
import type { YogaServerInstance } from 'graphql-yoga';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../context.js';
import type { Logger } from '../telemetry/logger.js';
import { logGraphqlErrors } from './error-log.js';
import type { ServerContext } from './create-yoga.js';
import { gatewayYogaPlugins } from './create-yoga.js';
import type { GraphQLContext } from './define-resolvers.js';
import { compressWhole, wholeBodyEncoding } from '../plugins/use-compression.js';
import { createDocumentCache } from './document-cache.js';
import {
  CONTENT_TYPE,
  YOGA_VERSION,
  directPathBlockers,
  envelopPlugins,
  errorResult,
  isJsonRequestType,
  plainParams,
  regularMediaType,
  responseInit,
  stringifyResult,
  type PlainParams as Params,
  type RegularMedia,
} from './yoga-http-port.js';

/**
 * What yoga's envelop hooks see as `context.request` on this path: they read only its method
 * (e.g. the parse hook that turns a syntax error into GRAPHQL_PARSE_FAILED / 400 for POSTs).
 */
const DIRECT_REQUEST = Object.freeze({ method: 'POST' });

/** What parsing and validating one document text gave, kept for the next request with that text. */
type Prepared =
  /** `subscriptions`: the document declares one, so which operation a request runs must be looked at. */
  | { document: DocumentNode; errors: undefined; subscriptions: boolean }
  | { document: undefined; errors: readonly GraphQLError[]; subscriptions: false };

export interface FastPathOptions {
  /** `graphql.fastPath`: false keeps every request on yoga's full path. @default true */
  enabled?: boolean;
  /** Start-up line saying which path answers GraphQL requests, and why. */
  logger?: Logger;
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

/**
 * The direct path for this yoga instance, or undefined (every request goes to yoga) when it is
 * switched off or a yoga plugin has a hook it would skip. Logs the decision once.
 */
export function createGraphqlFastPath(
  yoga: YogaServerInstance<ServerContext, GraphQLContext>,
  opts: FastPathOptions,
): GraphqlFastPath | undefined {
  if (opts.enabled === false) {
    opts.logger?.info({ graphqlPath: 'yoga', reason: 'graphql.fastPath is false' }, 'graphql path');
    return undefined;
  }
  const blockers = directPathBlockers(gatewayYogaPlugins(yoga));
  if (blockers.length > 0) {
    opts.logger?.info({ graphqlPath: 'yoga', reason: 'a yoga plugin has a hook the direct path skips', blockers }, 'graphql path');
    return undefined;
  }
  const plugins = envelopPlugins(yoga) as readonly EnvelopPluginHooks[];
  const executionBlockers = directExecutionBlockers(plugins);
  const direct = opts.reuseValidation && executionBlockers.length === 0 ? new DirectExecution(plugins) : undefined;
  opts.logger?.info(
    {
      graphqlPath: 'direct',
      reason: `every yoga plugin is envelop-only or reproduced (ported from yoga ${YOGA_VERSION})`,
      preparedExecution: direct !== undefined,
      ...(direct ? {} : { preparedExecutionOff: opts.reuseValidation ? executionBlockers : ['a plugin must see every parse and validation'] }),
    },
    'graphql path',
  );
  return directPath(yoga, opts, direct);
}

function directPath(yoga: YogaServerInstance<ServerContext, GraphQLContext>, opts: FastPathOptions, direct: DirectExecution | undefined): GraphqlFastPath {
  const { maskError, compressionThreshold, reuseValidation, logger } = opts;
  const prepared = reuseValidation ? createDocumentCache<Prepared>(opts.cacheBytes ?? 4 * 1024 * 1024) : undefined;
  // Read once: a yoga instance is a Proxy whose property reads build a bound function on every access.
  const getEnveloped = yoga.getEnveloped;

  /** The schema envelop executes against (the same for every request of this yoga instance). */
  let schema: GraphQLSchema | undefined;

  /** Parses and validates through envelop (every hook runs), remembering the outcome when allowed. */
  function prepare(enveloped: Enveloped, query: string): Prepared {
    schema = enveloped.schema;
    const document = enveloped.parse(query);
    const errors = enveloped.validate(enveloped.schema, document);
    const out: Prepared = errors.length > 0 ? { document: undefined, errors, subscriptions: false } : { document, errors: undefined, subscriptions: declaresSubscription(document) };
    prepared?.set(query, out);
    return out;
  }

  function send(ctx: RequestContext, result: ExecutionResult, media: RegularMedia, serialize?: ResultSerializer): void | Promise<void> {
    if (result.errors?.length && logger) logGraphqlErrors(logger, ctx, result);
    const { status, headers: extra } = responseInit(result, media);
    const text = stringifyResult(result, serialize);
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

  function fail(ctx: RequestContext, error: unknown, media: RegularMedia): void | Promise<void> {
    return send(ctx, errorResult(error, maskError), media);
  }

  async function finish(ctx: RequestContext, pending: Promise<unknown>, media: RegularMedia, serialize: ResultSerializer | undefined): Promise<boolean> {
    try {
      const result = await pending;
      await send(ctx, result as ExecutionResult, media, serialize);
    } catch (error) {
      await fail(ctx, error, media);
    }
    return true;
  }

  return {
    handle(ctx) {
      const headers = ctx.req.headers;
      const media = regularMediaType(headers.accept);
      if (media === undefined || ctx.body === undefined || !isJsonRequestType(headers['content-type'])) return false;
      const params = plainParams(ctx.body);
      if (!params) return false;

      const context = { gw: ctx, params, request: DIRECT_REQUEST } as unknown as ServerContext & Record<string, unknown>;
      let result: unknown;
      let serialize: ResultSerializer | undefined;
      try {
        const hit = prepared?.get(params.query);
        // A document seen before runs without envelop's orchestration (direct-execution.ts).
        if (hit !== undefined && direct !== undefined && schema !== undefined) {
          ctx.graphqlPath = 'prepared';
          if (hit.errors) {
            result = { errors: hit.errors };
          } else {
            if (hit.subscriptions && getOperationAST(hit.document, params.operationName ?? undefined)?.operation === 'subscription') return false;
            const out = direct.run(context, schema, hit.document, params.variables ?? undefined, params.operationName ?? undefined);
            result = out instanceof Promise ? out.then(rejectStreams) : rejectStreams(out);
            serialize = responseSerializer(schema, hit.document, params.operationName);
          }
        } else {
          const enveloped = getEnveloped(context as never);
          const { document, errors } = hit ?? prepare(enveloped, params.query);
          if (errors) {
            result = { errors };
          } else {
            const op = getOperationAST(document, params.operationName ?? undefined);
            // Subscriptions and anything streamed are yoga's to answer (event stream / multipart).
            if (op?.operation === 'subscription') return false;
            result = runOperation(enveloped, document, params);
          }
        }
      } catch (error) {
        const out = fail(ctx, error, media);
        return out ? out.then(() => true) : true;
      }
      if (result instanceof Promise) return finish(ctx, result, media, serialize);
      const out = send(ctx, result as ExecutionResult, media, serialize);
      return out ? out.then(() => true) : true;
    },
  };
}

/** True when a document declares a subscription (decided once per document, not per request). */
function declaresSubscription(document: DocumentNode): boolean {
  return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'subscription');
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
