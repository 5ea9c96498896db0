/**
 * What a resolver module in `resolvers/` exports: its resolver map, the upstreams it calls
 * directly and the batch loaders it uses, so composition can refuse a module that names an
 * upstream the config does not have.
 */
import type { IResolvers } from '@graphql-tools/utils';
import type { RequestContext } from '../context.js';
import type { Upstreams } from '../upstream/create-upstreams.js';
import type { LoaderDefinition } from './define-loader.js';
import type { Bindings } from './bindings/runtime.js';

/** The GraphQL context every resolver receives. */
export interface GraphQLContext {
  /** The request: identity, deadline, request id, this request's loaders. */
  gw: RequestContext;
  /** The shared upstream layer, for calls that are not batched. */
  upstreams: Upstreams;
  /**
   * The schema's field bindings: `ctx.bindings.load(ctx, 'OrderItem.product', { parent: item })`
   * gives a bound field's value through the same batch as the field itself.
   */
  bindings: Bindings;
}

export interface ResolverModule {
  /** Upstream names this module calls directly; each must be configured. @default [] */
  upstreams?: string[];
  /** Batch loaders this module uses (see defineLoader); their upstreams must be configured. @default [] */
  loaders?: Array<LoaderDefinition<any, any>>;
  resolvers: IResolvers<unknown, GraphQLContext>;
}

export function defineResolvers(module: ResolverModule): ResolverModule {
  return module;
}
