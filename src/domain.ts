/**
 * What a team's domain modules import: resolver, loader and demo declarations and the gateway's
 * error constructors. Kept free of the server and GraphQL runtime so that loading a domain
 * (e.g. for `gateway schema print`) stays cheap.
 */
export { defineResolvers, type GraphQLContext, type ResolverModule } from './graphql/define-resolvers.js';
export { defineLoader, type LoaderDefinition, type LoaderContext } from './graphql/define-loader.js';
export { defineDemo, type DemoContext, type DemoServer } from './demo/define-demo.js';
export * from './errors.js';
export { upstreamPath } from './upstream/http/path-template.js';
