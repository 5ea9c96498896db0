/**
 * What a resolver module in `resolvers/` exports: its resolver map and the upstreams it calls,
 * so composition can refuse a module that names an upstream the config does not have.
 */
import type { IResolvers } from '@graphql-tools/utils';
import type { RequestContext } from '../context.js';
import type { Upstreams } from '../upstream/create-upstreams.js';
import type { Loaders } from '../../upstreams/loaders.js';

/** The GraphQL context every resolver receives. */
export interface GraphQLContext {
  /** The request: identity, deadline, request id. */
  gw: RequestContext;
  /** Per-request DataLoaders (one per batch endpoint). */
  loaders: Loaders;
  /** The shared upstream layer, for non-batched calls. */
  upstreams: Upstreams;
}

export interface ResolverModule {
  /** Upstream names this module calls; each must be configured. */
  upstreams: string[];
  resolvers: IResolvers<unknown, GraphQLContext>;
}

export function defineResolvers(module: ResolverModule): ResolverModule {
  return module;
}
