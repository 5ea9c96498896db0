/**
 * The pieces of graphql-yoga's HTTP layer that the direct GraphQL path (./fast-path.ts) does
 * itself, ported from graphql-yoga 5.21.3 (YOGA_VERSION; test/engine/yoga-port.test.ts fails when
 * node_modules holds another version, until someone re-reads yoga and updates this file):
 *
 * | here                    | mirrors, in graphql-yoga 5.21.3                                              |
 * | ----------------------- | ---------------------------------------------------------------------------- |
 * | isJsonRequestType       | plugins/request-parser/post-json.ts `isPOSTJsonRequest` (+ utils `isContentTypeMatch`) |
 * | plainParams             | the object check of `parsePOSTJsonRequest` and `useCheckGraphQLQueryParams` (narrower: anything else goes to yoga) |
 * | regularMediaType        | plugins/use-result-processor.ts `useResultProcessors` with result-processor/accept.ts `getMediaTypesForRequestInOrder`, `isMatchingMediaType` |
 * | CONTENT_TYPE            | result-processor/regular.ts `processRegularResult` (Content-Type header)       |
 * | responseInit            | error.ts `getResponseInitByRespectingErrors`, with the application/json rule of `processRegularResult` |
 * | stringifyResult         | result-processor/stringify.ts `jsonStringifyResultWithoutInternals`          |
 * | errorResult             | error.ts `handleError` for an error thrown before execution (masked, as yoga's `maskedErrors`) |
 * | HOOKS_SKIPPED           | the hooks of server.ts `YogaServer` (and the server adapter) that run outside envelop |
 *
 * The direct path runs envelop's parse, validate, context and execute hooks (yoga's getEnveloped)
 * and none of yoga's HTTP-layer hooks. A yoga plugin with one of those hooks therefore turns the
 * direct path off (directPathBlockers), unless it is registered here as one the direct path
 * reproduces (reproducedByDirectPath), with the reason.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';

/** The graphql-yoga version this file was checked against. */
export const YOGA_VERSION = '5.21.3';

export const JSON_MEDIA = 'application/json';
export const GQL_MEDIA = 'application/graphql-response+json';
export type RegularMedia = typeof JSON_MEDIA | typeof GQL_MEDIA;

export const CONTENT_TYPE: Readonly<Record<RegularMedia, string>> = {
  [JSON_MEDIA]: `${JSON_MEDIA}; charset=utf-8`,
  [GQL_MEDIA]: `${GQL_MEDIA}; charset=utf-8`,
};

/** yoga's JSON body parser takes the request when the first listed content type is one of these. */
function isContentTypeMatch(first: string, expected: string): boolean {
  return first === expected || first.startsWith(`${expected};`);
}

/** `isPOSTJsonRequest` for a POST: the Content-Type yoga parses as a JSON body. */
export function isJsonRequestType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  if (ct === JSON_MEDIA || ct === 'application/json; charset=utf-8') return true;
  // A list of content types is not valid HTTP, but yoga reads the first entry and so do we.
  const first = ct.split(',')[0]!;
  return isContentTypeMatch(first, JSON_MEDIA) || isContentTypeMatch(first, 'application/graphql+json');
}

export interface PlainParams {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * The body's params when it is the plain shape `{ query, variables?, operationName?, extensions? }`
 * that yoga's parser and parameter checks accept unchanged; undefined for anything else (invalid
 * JSON, arrays, APQ extensions, `documentId`, wrong types), which yoga answers with its own errors.
 */
export function plainParams(body: Buffer): PlainParams | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    // yoga answers invalid JSON itself (400, "POST body sent invalid JSON.").
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
  return o as unknown as PlainParams;
}

/** `isMatchingMediaType(processorType, acceptedType)`: `*` matches either half. */
function matches(processor: string, accepted: string): boolean {
  const [pre, suf] = accepted.split('/');
  const [pPre, pSuf] = processor.split('/');
  return (pre === '*' || pre === pPre) && (suf === '*' || suf === pSuf);
}

/**
 * The media type yoga's regular (single JSON body) result processor answers a non-streamed result
 * with, for this Accept header; undefined when yoga would answer otherwise (event stream,
 * multipart, or 406). yoga lists the Accept entries (whitespace removed, lower-cased, q-values
 * ignored, entries with a charset other than utf-8 dropped) and the last processor that matches
 * wins: among the regular types, that is the first Accept entry matching either of them, and
 * application/json when that entry matches both.
 */
export function regularMediaType(accept: string | undefined): RegularMedia | undefined {
  const hit = mediaCache.get(accept);
  if (hit !== undefined) return hit || undefined;
  const out = negotiate(accept);
  // Bounded in entries and bytes: the header is the client's. The common values fill it within a few requests.
  if (mediaCache.size < MEDIA_CACHE_MAX && (accept === undefined || accept.length <= MEDIA_CACHE_KEY_MAX)) mediaCache.set(accept, out ?? '');
  return out;
}

const MEDIA_CACHE_MAX = 64;
const MEDIA_CACHE_KEY_MAX = 256;
const mediaCache = new Map<string | undefined, RegularMedia | ''>();

function negotiate(accept: string | undefined): RegularMedia | undefined {
  const entries = (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',');
  for (const entry of entries) {
    const [type, ...params] = entry.split(';');
    const charset = params.find((p) => p.includes('charset=')) ?? 'charset=utf-8';
    if (charset !== 'charset=utf-8') continue;
    if (matches(JSON_MEDIA, type!)) return JSON_MEDIA;
    if (matches(GQL_MEDIA, type!)) return GQL_MEDIA;
  }
  return undefined;
}

interface HttpExtension { status?: number; headers?: Record<string, string>; spec?: boolean }

function isOriginalGraphQLError(e: unknown): boolean {
  while (e instanceof GraphQLError) {
    if (e.originalError == null) return true;
    e = e.originalError;
  }
  return false;
}

/** HTTP status and extra headers for a result, by GraphQL over HTTP's rules as yoga applies them. */
export function responseInit(result: ExecutionResult, media: RegularMedia): { status: number; headers: Record<string, string> | undefined } {
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

/** The response body: the result's own stringifier (graphql-jit) when nothing internal must go. */
export function stringifyResult(result: ExecutionResult & { stringify?: (v: unknown) => string }, serialize?: (v: ExecutionResult) => string): string {
  if (!result.errors?.length && !result.extensions?.http) return (serialize ?? result.stringify ?? JSON.stringify)(result);
  return JSON.stringify(publicResult(result));
}

/** The result for an error thrown before execution produced one: masked as yoga masks it. */
export function errorResult(error: unknown, maskError: (error: unknown, message: string) => Error): ExecutionResult {
  const masked = maskError(error, 'Unexpected error.');
  const gqlError = masked instanceof GraphQLError ? masked : new GraphQLError(masked.message, { originalError: masked });
  return { errors: [gqlError] };
}

/**
 * Hooks yoga (and its server adapter) runs outside envelop, around the parse/validate/execute
 * that the direct path shares: request routing and parsing, parameter checks, result processing
 * and the response. `instrumentation` counts only for its yoga-level phases.
 */
export const HOOKS_SKIPPED = ['onRequest', 'onRequestParse', 'onParams', 'onExecutionResult', 'onResultProcess', 'onResponse'] as const;
const INSTRUMENTATION_SKIPPED = ['request', 'requestParse', 'operation', 'resultProcess'];

/** Plugins whose skipped hooks the direct path reproduces, with the reason (for the start-up log). */
const reproduced = new WeakMap<object, string>();

/**
 * Registers a yoga plugin of ours whose HTTP-layer hooks the direct path does not need to run,
 * and says why (e.g. "compresses like the direct path does"). Returns the plugin.
 */
export function reproducedByDirectPath<P extends object>(plugin: P, why: string): P {
  reproduced.set(plugin, why);
  return plugin;
}

/** The skipped hooks this plugin has (empty when the direct path loses nothing by skipping them). */
export function skippedHooksOf(plugin: object): string[] {
  if (reproduced.has(plugin)) return [];
  const p = plugin as Record<string, unknown>;
  const out: string[] = HOOKS_SKIPPED.filter((h) => typeof p[h] === 'function');
  const inst = p.instrumentation as Record<string, unknown> | undefined;
  if (inst) for (const k of INSTRUMENTATION_SKIPPED) if (typeof inst[k] === 'function') out.push(`instrumentation.${k}`);
  return out;
}

/**
 * Why the direct path must stay off for these plugins (yoga's own built-ins excluded: they are
 * what this file ports): one line per plugin with a hook the direct path skips, or [] when none.
 */
export function directPathBlockers(plugins: readonly object[]): string[] {
  const out: string[] = [];
  plugins.forEach((plugin, i) => {
    const hooks = skippedHooksOf(plugin);
    if (hooks.length === 0) return;
    const name = (plugin as { name?: unknown }).name;
    out.push(`yoga plugin #${i}${typeof name === 'string' ? ` (${name})` : ''} has ${hooks.join(', ')}`);
  });
  return out;
}

/**
 * Every envelop plugin of a yoga instance, yoga's built-ins included, in envelop's order after
 * init (what its `getEnveloped` runs). yoga keeps the list as a protected field; read here so
 * that the tie to the yoga version stays in this file.
 */
export function envelopPlugins(yoga: object): readonly object[] {
  const list = (yoga as { plugins?: unknown }).plugins;
  if (!Array.isArray(list)) throw new Error(`yoga ${YOGA_VERSION}'s plugin list not found: the direct path needs porting to this yoga version`);
  return list as readonly object[];
}
