/**
 * The GraphQL front door: graphql-yoga over the composed schema, fed by the gateway's own
 * HTTP pipeline (which has already run request id, IP filter, CORS, body limit, identity and
 * limits). Gateway errors thrown in resolvers surface with their code; anything else is masked.
 */
import { createYoga, type Plugin as YogaPlugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, NoSchemaIntrospectionCustomRule, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { isGatewayError } from '../errors.js';
import { applyFieldAuthorization, type IdentitySources } from '../auth/field-authorization.js';
import type { RequestContext } from '../context.js';
import type { Upstreams } from '../upstream/create-upstreams.js';
import type { Bindings } from './bindings/runtime.js';
import type { GraphQLContext } from './define-resolvers.js';
import type { GraphqlConfig } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { useGraphiQLPage } from './graphiql-page.js';
import { useCompiledExecution } from './compiled-execution.js';
import { createDocumentCache } from './document-cache.js';
import { withoutSuggestions } from './suggestions.js';
import { reproducedByDirectPath } from './yoga-http-port.js';
import { logGraphqlErrors, rememberInternalCause } from './error-log.js';

export interface ServerContext {
  gw: RequestContext;
}

export interface GatewayYogaOptions {
  schema: GraphQLSchema;
  config: GraphqlConfig;
  upstreams: Upstreams;
  /** The schema's field bindings, handed to resolvers as `context.bindings`. */
  bindings: Bindings;
  logger: Logger;
  plugins: YogaPlugin[];
  /** Resolver wrappers from the plugin chain (field limits); field authorization wraps their result. */
  transformSchema?: (schema: GraphQLSchema) => GraphQLSchema;
  /** Credentials the gateway verifies, for field refusals that say what to send. @default none */
  identitySources?: IdentitySources;
}

function useNoIntrospection(): YogaPlugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * graphql-js's own token limit, applied by the parser itself: a token bomb stops at the limit
 * instead of building a huge tree that later steps would walk. Both paths parse through here.
 */
function useTokenLimit(maxTokens: number): YogaPlugin {
  const parseLimited = (source: Parameters<typeof parse>[0], options?: Parameters<typeof parse>[1]): DocumentNode =>
    parse(source, { ...options, maxTokens });
  return {
    onParse({ setParseFn }) {
      setParseFn(parseLimited);
    },
  };
}

/**
 * "Did you mean …" hints name fields, types, arguments and enum values of the schema: with
 * introspection off they would hand out the schema piece by piece, so they are cut from
 * validation errors and from variable coercion errors (which execution reports).
 */
function useNoSuggestions(): YogaPlugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length) setResult([...withoutSuggestions(result as readonly GraphQLError[])]);
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in (result as object)) return;
          const r = result as { errors?: readonly GraphQLError[] };
          if (r.errors?.length) setResult({ ...r, errors: withoutSuggestions(r.errors) } as never);
        },
      };
    },
  };
}

/** Request headers that prove a POST was preflighted (or sent by a non-browser client). */
export const CSRF_HEADERS = ['x-graphql-csrf-token', 'apollo-require-preflight', 'x-apollo-operation-name', 'graphql-preflight', 'x-graphql-yoga-csrf'];

/**
 * yoga's CSRF prevention for POSTs only: a form-urlencoded, multipart or text/plain POST (what a
 * cross-site form can send without a preflight) needs one of the headers. GET stays open for
 * GraphQL over HTTP: yoga answers a mutation over GET with 405 before executing it.
 */
function useCsrfForPosts(requestHeaders: string[]): YogaPlugin {
  const inner = useCSRFPrevention({ requestHeaders });
  return reproducedByDirectPath(
    {
      onRequestParse(payload) {
        if (payload.request.method === 'GET' || payload.request.method === 'HEAD') return;
        return inner.onRequestParse!(payload);
      },
    },
    'the direct path takes only JSON POSTs, which a cross-site form cannot send without a preflight',
  );
}

/** Records the operation name for logs and metrics. */
function useOperationName(): YogaPlugin<ServerContext> {
  return {
    onExecute({ args }) {
      const ctx = (args.contextValue as Partial<GraphQLContext>).gw;
      if (ctx) ctx.operationName = args.operationName ?? undefined;
    },
  };
}

/** Turns a GatewayError raised below a resolver into a GraphQL error that keeps its code. */
export function toGraphQLError(error: unknown, message: string): Error {
  const gqlError = error instanceof GraphQLError ? error : undefined;
  const original = gqlError?.originalError ?? error;
  if (isGatewayError(original)) {
    return new GraphQLError(original.message, {
      nodes: gqlError?.nodes,
      path: gqlError?.path,
      extensions: { ...gqlError?.extensions, code: original.code },
    });
  }
  if (gqlError && original instanceof GraphQLError) return original;
  return new GraphQLError(message, {
    nodes: gqlError?.nodes,
    path: gqlError?.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

/** yoga's error masking with the gateway's rule: gateway errors keep their code, the rest is masked and logged. */
export function gatewayMaskError() {
  return (error: unknown, message: string): Error => {
    const out = toGraphQLError(error, message);
    const original = error instanceof GraphQLError ? error.originalError : error;
    // Logged once, with the request id, when the answer goes out (error-log.ts).
    if (original && !isGatewayError(original) && !(original instanceof GraphQLError)) rememberInternalCause(out, original);
    return out;
  };
}

/** Logs the errors of every answer yoga gives (the direct path logs its own in `send`). */
function useErrorLog(logger: Logger): YogaPlugin<Record<string, unknown>, ServerContext> {
  return reproducedByDirectPath(
    {
      onResultProcess({ result, serverContext }) {
        const gw = (serverContext as Partial<ServerContext> | undefined)?.gw;
        if (gw) logGraphqlErrors(logger, gw, result);
      },
    },
    'the direct path logs the errors of its answers the same way (fast-path.ts send)',
  );
}

export function createGatewayYoga(opts: GatewayYogaOptions): YogaServerInstance<ServerContext, GraphQLContext> {
  const { upstreams, bindings, logger } = opts;
  const plugins: YogaPlugin[] = [useOperationName() as YogaPlugin, useErrorLog(logger) as YogaPlugin, ...opts.plugins];
  const config = opts.config;
  if (!config.introspection) plugins.unshift(useNoIntrospection(), useNoSuggestions());
  // Before every other parse hook, so the limit holds whatever else sets a parse function.
  plugins.unshift(useTokenLimit(config.maxTokens));
  if (config.csrfPrevention) {
    plugins.unshift(useCsrfForPosts(config.csrfPrevention === true ? CSRF_HEADERS : config.csrfPrevention.requestHeaders));
  }
  // Bounded by bytes (document-cache.ts); validation results live in a WeakMap keyed by the parsed document, so they go with it.
  const cacheBytes = config.documentCacheBytes;
  const documentCache = createDocumentCache<DocumentNode>(Math.floor((cacheBytes * 3) / 8));
  const errorCache = createDocumentCache<object>(Math.floor(cacheBytes / 8));
  if (opts.config.jit) plugins.push(useCompiledExecution());
  if (config.graphiql) {
    const page = useGraphiQLPage({
      graphqlPath: config.path,
      title: 'Gateway GraphiQL',
      defaultQuery: typeof config.graphiql === 'object' ? config.graphiql.defaultQuery : undefined,
    });
    plugins.unshift(reproducedByDirectPath(page, 'it answers only GETs that ask for HTML'));
  }
  // Two empty plugins bracket ours in yoga's list. envelop inserts what a plugin adds at init right
  // after it, and runs onPluginInit in list order: when `last` initialises, the list between the
  // two holds exactly our plugins and what they added; everything outside them is yoga's own.
  let added: readonly object[] = [];
  const first: YogaPlugin = {};
  const last: YogaPlugin = {
    onPluginInit({ plugins: all }) {
      added = all.slice(all.indexOf(first) + 1, all.indexOf(last));
    },
  };
  // Authorization outermost: a refused call never reaches field limits or the resolver.
  const authorized = applyFieldAuthorization(opts.transformSchema ? opts.transformSchema(opts.schema) : opts.schema, opts.identitySources);
  if (authorized.unreachable.length) {
    logger.warn({ fields: authorized.unreachable.map((f) => `${f.coordinate}: ${f.reason}`) }, `${authorized.unreachable.length} protected field(s) can never resolve with this auth config`);
  }
  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: authorized.schema,
    graphqlEndpoint: opts.config.path,
    // Served by useGraphiQLPage instead (no CDN, assets as separate cacheable files): see graphiql-page.ts.
    graphiql: false,
    landingPage: false,
    // Trusted-document requests name their document by id (see use-persisted-operations.ts).
    extraParamNames: ['documentId', 'id'],
    // Batches are checked first by the gateway's own hook (src/plugins/use-batching.ts), with its error codes.
    batching: config.batching ? { limit: config.batching.maxBatchSize } : false,
    healthCheckEndpoint: '/__yoga_health_unused',
    // yoga logs every error of an answer at `error`, without a request id; useErrorLog logs each
    // one with the request id at the level it deserves, so yoga's own copy goes to debug.
    logging: {
      debug: (...args) => logger.debug({ args }, 'yoga'),
      info: (...args) => logger.info({ args }, 'yoga'),
      warn: (...args) => logger.warn({ args }, 'yoga'),
      error: (...args) => logger.debug({ args }, 'yoga'),
    },
    maskedErrors: { maskError: gatewayMaskError() },
    // CORS is the gateway's (server.cors, src/plugins/use-cors.ts): yoga's default would reflect any origin.
    cors: false,
    context: ({ gw }) => ({ gw, upstreams, bindings }) as GraphQLContext,
    parserAndValidationCache: documentCache && errorCache ? { documentCache, errorCache, validationCache: true } : false,
    plugins: [first, ...plugins, last],
  });
  ours.set(yoga, added);
  return yoga;
}

const ours = new WeakMap<object, readonly object[]>();

/**
 * The yoga plugins the gateway gave this yoga instance (its own and the plugin chain's, with any
 * plugin they added at init), without yoga's built-in ones.
 */
export function gatewayYogaPlugins(yoga: object): readonly object[] {
  const list = ours.get(yoga);
  if (!list) throw new Error('not a yoga instance made by createGatewayYoga');
  return list;
}
