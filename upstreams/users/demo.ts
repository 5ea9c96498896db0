/** The demo users upstream (HTTP), implementing CONTRACT section 3 exactly. */
import { defineDemo } from '../../src/domain.js';
import { sharedSeed, type DemoData, type DemoUser } from '../shop-data.js';
import { INVALID_JSON, sendJson, startHttpUpstream, type DemoHttpServer } from '../../src/demo/http-server.js';

export function startUsersServer(data: DemoData, port = 0, host?: string): Promise<DemoHttpServer> {
  return startHttpUpstream(async (req, res, url, body) => {
    const path = url.pathname;
    if (path === '/users' && req.method === 'GET') {
      const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
      const found: DemoUser[] = [];
      for (const id of ids) {
        const u = data.users.get(id);
        if (u) found.push(u);
      }
      return sendJson(res, 200, found);
    }
    if (path === '/users' && req.method === 'POST') {
      const input = (await body()) as { name?: unknown; email?: unknown } | undefined;
      if ((input as unknown) === INVALID_JSON || typeof input !== 'object' || input === null || typeof input.name !== 'string' || typeof input.email !== 'string') {
        return sendJson(res, 400, { error: 'name and email are required strings' });
      }
      const user: DemoUser = { id: String(data.nextUserId++), name: input.name, email: input.email, role: 'customer' };
      data.users.set(user.id, user);
      return sendJson(res, 201, user);
    }
    const one = /^\/users\/([^/]+)$/.exec(path);
    if (one && req.method === 'GET') {
      const u = data.users.get(decodeURIComponent(one[1]!));
      return u ? sendJson(res, 200, u) : sendJson(res, 404, { error: 'user not found' });
    }
    sendJson(res, 404, { error: 'not found' });
  }, port, host);
}

/** `gateway start --demo` starts this server and points the users upstream at it. */
export default defineDemo({
  async start({ port, host, shared }) {
    const server = await startUsersServer(sharedSeed(shared), port, host);
    return { target: server.url, close: () => server.close() };
  },
});
