import { defineResolvers } from '../src/graphql/define-resolvers.js';
import { Unauthenticated } from '../src/errors.js';
import type { User } from '../upstreams/loaders.js';

export default defineResolvers({
  upstreams: ['users'],
  resolvers: {
    Query: {
      me: (_p, _a, { gw, loaders }) => {
        const sub = gw.identity?.subject;
        if (!sub) throw Unauthenticated('this field needs a verified identity');
        return loaders.userById.load(sub);
      },
      user: (_p, { id }: { id: string }, { loaders }) => loaders.userById.load(id),
      // A failed key comes back as an Error in its slot; graphql-js reports it at that index.
      users: (_p, { ids }: { ids: string[] }, { loaders }) => loaders.userById.loadMany(ids),
    },
    Mutation: {
      createUser: async (_p, { input }: { input: { name: string; email: string } }, { gw, upstreams }) => {
        return upstreams.http('users').json<User>(gw, 'POST', '/users', input);
      },
    },
  },
});
