import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { compileIpFilter } from '../src/plugins/use-ip-filter.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const route = { name: 'users-api', match: { pathPrefix: '/api/users' }, upstream: 'users', rewrite: { stripPrefix: '/api' } };

async function start(ipFilter: Record<string, string[]>): Promise<TestGateway> {
  gw = await startTestGateway({
    configure(c) {
      c.server.ipFilter = ipFilter;
      c.routes = [route];
    },
  });
  return gw;
}

describe('ip filter (the test client is 127.0.0.1)', () => {
  it('denied address: 403 FORBIDDEN on routes and /graphql, nothing reaches the upstream', async () => {
    const g = await start({ deny: ['127.0.0.0/8'] });
    const r = await fetch(`${g.url}/api/users/1`);
    expect(r.status).toBe(403);
    expect((await r.json()).code).toBe('FORBIDDEN');
    const q = await g.gql('{ user(id: "1") { name } }');
    expect(q.status).toBe(403);
    expect(g.demo.users.recorder.calls).toHaveLength(0);
  });

  it('outside a non-empty allow list: 403; inside it: through', async () => {
    const g = await start({ allow: ['10.0.0.0/8'] });
    expect((await fetch(`${g.url}/api/users/1`)).status).toBe(403);
    await g.close();
    const g2 = await start({ allow: ['10.0.0.0/8', '127.0.0.1'], deny: ['10.6.6.0/24'] });
    expect((await fetch(`${g2.url}/api/users/1`)).status).toBe(200);
  });

  it('deny given as an IPv4-mapped IPv6 block matches the IPv4 client', async () => {
    const g = await start({ deny: ['::ffff:127.0.0.0/104'] });
    expect((await fetch(`${g.url}/api/users/1`)).status).toBe(403);
  });
});

describe('compileIpFilter', () => {
  it('judges IPv4, IPv6 and IPv4-mapped addresses; deny wins', () => {
    const passes = compileIpFilter({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24'] });
    expect(passes('10.1.2.3')).toBe(true);
    expect(passes('::ffff:10.1.2.3')).toBe(true);
    expect(passes('10.6.6.7')).toBe(false);
    expect(passes('::ffff:10.6.6.7')).toBe(false);
    expect(passes('2001:db8::1')).toBe(true);
    expect(passes('2001:db9::1')).toBe(false);
    expect(passes('192.168.0.1')).toBe(false);
    expect(passes('not-an-ip')).toBe(false);
  });
});

describe('ipFilter config', () => {
  it('names the bad entry by its key path', async () => {
    const { configFrom, baseConfig } = await import('./helpers/gateway.js');
    const raw = baseConfig();
    raw.server.ipFilter = { allow: ['10.0.0.0/8', '10.0.0.0/33'], deny: ['300.1.1.1'] };
    expect(() => configFrom(raw)).toThrow(/server\.ipFilter\.allow\.1|server\.ipFilter\.allow\[1\]/);
    expect(() => configFrom(raw)).toThrow(/server\.ipFilter\.deny/);
  });
});
