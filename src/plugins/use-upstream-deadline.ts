import type { GatewayPlugin } from './types.js';

/** Options for {@link useUpstreamDeadline}. */
export interface UpstreamDeadlineOptions {
  /** Route name → time budget in ms for everything the route does upstream. */
  routeTimeouts?: Record<string, number>;
  /** Budget for a GraphQL request, covering every upstream call it makes (`graphql.timeoutMs`). @default 30000 */
  graphqlTimeoutMs?: number;
}

/**
 * Sets the request's deadline. Every upstream call is bounded by it as well as by its own
 * upstream's `timeoutMs`, so a slow first call leaves less time for the next one.
 */
export function useUpstreamDeadline(opts: UpstreamDeadlineOptions = {}): GatewayPlugin {
  const routes = new Map(Object.entries(opts.routeTimeouts ?? {}));
  const graphqlMs = opts.graphqlTimeoutMs ?? 30_000;
  return {
    name: 'upstream-deadline',
    onRequest(ctx) {
      const t = ctx.target;
      if (t.kind === 'graphql') ctx.deadline = Date.now() + graphqlMs;
      else if (t.kind === 'route') {
        const ms = routes.get(t.route.name);
        if (ms !== undefined) ctx.deadline = Date.now() + ms;
      }
    },
  };
}
