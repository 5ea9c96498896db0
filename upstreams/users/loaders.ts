/** Batch loaders of the users upstream (CONTRACT §3: `GET /users?ids=1,2,3`). */
import { defineLoader, upstreamPath } from '../../src/domain.js';

export interface User { id: string; name: string; email: string | null; role: string }

/** `GET /users?ids=…`: unknown ids are left out of the answer, so they come back as null. */
export const userById = defineLoader<string, User | null>({
  upstream: 'users',
  async batch(keys, { gw, upstreams }) {
    const found = (await upstreams.http('users').json<User[]>(gw, 'GET', upstreamPath`/users?ids=${keys}`)) ?? [];
    const byId = new Map(found.map((u) => [String(u.id), u]));
    return keys.map((k) => byId.get(k) ?? null);
  },
});
