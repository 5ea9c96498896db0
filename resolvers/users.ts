import { defineResolvers, Unauthenticated } from '../src/domain.js';
import { userById, type User } from '../upstreams/users/loaders.js';

export default defineResolvers({
  upstreams: ['users'],
  loaders: [userById],
  resolvers: {
    Query: {
      me: (_p, _a, ctx) => {
        const sub = ctx.gw.identity?.subject;
        // @authenticated refused anonymous callers already; a verified token may still lack a subject.
        if (!sub) throw Unauthenticated('Query.me needs a caller id: the verified token has no sub claim');
        return userById.of(ctx).load(sub);
      },
      user: (_p, { id }: { id: string }, ctx) => userById.of(ctx).load(id),
      // A failed key comes back as an Error in its slot; graphql-js reports it at that index.
      users: (_p, { ids }: { ids: string[] }, ctx) => userById.of(ctx).loadMany(ids),
    },
    Mutation: {
      createUser: async (_p, { input }: { input: { name: string; email: string } }, { gw, upstreams }) => {
        return upstreams.http('users').json<User>(gw, 'POST', '/users', input);
      },
    },
  },
});
