/**
 * The gateway's plugin shape. One capability = one factory in `src/plugins/use-<name>.ts`
 * returning only the hooks it needs. The order of the chain is fixed in `./index.ts`.
 */
import type { GraphQLSchema } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { RequestContext } from '../context.js';
import type { Interceptor } from '../upstream/types.js';

export interface GatewayPlugin {
  readonly name: string;
  /**
   * Runs for every request in chain order, after routing. Throw a GatewayError to answer
   * with it; answer the response yourself (e.g. a CORS preflight) to end the request.
   * Return a promise only when there is real asynchronous work.
   */
  onRequest?(ctx: RequestContext): void | Promise<void>;
  /** Runs once the response has finished or the connection closed (logs, metrics). */
  onDone?(ctx: RequestContext): void;
  /** GraphQL-only behaviour (depth checks, spans, metrics) as yoga/envelop plugins. */
  yogaPlugins?: YogaPlugin[];
  /**
   * Wraps resolvers of the executable schema (field limits). Applied once, in chain order, and
   * inside field authorization: a caller a field refuses never reaches these wrappers.
   */
  transformSchema?(schema: GraphQLSchema): GraphQLSchema;
  /**
   * True when its yoga plugins must see every request's parse and validate steps (tracing spans).
   * Otherwise those steps depend on the document alone, and the direct GraphQL path reuses a
   * document's parse and validation result for the next request carrying the same text.
   */
  observesEveryParse?: boolean;
  /**
   * Internal endpoints this plugin answers, by path (e.g. `/metrics`). The server routes them
   * before the chain runs, like `/healthz`; the handler answers the response.
   */
  readonly endpoints?: Readonly<Record<string, (ctx: RequestContext) => Promise<void>>>;
  /** Upstream interceptors this plugin contributes, outermost first. */
  interceptorsFor?(upstream: string, protocol: 'http' | 'grpc'): Interceptor[];
  /** Called when the gateway shuts down. */
  close?(): void | Promise<void>;
}
