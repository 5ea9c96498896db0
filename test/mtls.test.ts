/**
 * mTLS on the listener: client certificates verified against `server.tls.clientCa`; a route with
 * `auth: mtls` needs one, and the identity (subject CN, else a URI, DNS or email subjectAltName, by kind) goes
 * upstream as X-User-Id / X-Client-Id like any other identity. Refusals are 401 with the reason.
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { certificateSubject } from '../src/auth/client-certificate.js';
import { startFixtureUpstreams, type FixtureUpstreams } from './fixtures/domain/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestPki, type TestPki } from './helpers/tls.js';

let pki: TestPki;
let demo: FixtureUpstreams;
let gw: TestGateway;
beforeAll(async () => {
  pki = createTestPki();
  demo = await startFixtureUpstreams();
  gw = await startTestGateway({
    demo,
    configure: (c) => {
      c.server.tls = { cert: pki.path('server.pem'), key: pki.path('server-key.pem'), clientCa: pki.path('ca.pem'), clientRoles: { 'client-a': ['admin', 'ops'] } };
      c.routes = [
        { name: 'secure', match: { pathPrefix: '/secure' }, upstream: 'users', auth: 'mtls' },
        { name: 'open', match: { pathPrefix: '/open' }, upstream: 'users' },
        { name: 'any', match: { pathPrefix: '/any' }, upstream: 'users', auth: 'any' },
        { name: 'admins', match: { pathPrefix: '/admins' }, upstream: 'users', auth: 'mtls', roles: ['admin'] },
      ];
    },
  });
});
afterAll(async () => {
  await gw.close();
  await demo.close();
  pki.remove();
});

interface Answer {
  status: number;
  body: any;
}

/** GET over a fresh connection, presenting the client certificate `as` (a name in the test PKI) or none. */
function get(path: string, as?: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const cert = as ? { cert: pki.read(`${as}.pem`), key: pki.read(`${as}-key.pem`) } : {};
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${gw.url}${path}`, { method: body === undefined ? 'GET' : 'POST', agent: false, ca: pki.read('ca.pem'), headers, ...cert }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: the upstream's own answer, kept as text.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function lastCall(path: string) {
  return demo.users.recorder.calls.filter((c) => c.path === path).at(-1);
}

describe('mTLS routes', () => {
  it('a verified client certificate passes auth: mtls; the upstream receives the subject CN as identity, with its configured roles', async () => {
    demo.reset();
    await get('/secure/a', 'client', { 'x-user-id': 'forged', 'X-Client_Id': 'forged', 'x-user-roles': 'root' });
    const seen = lastCall('/secure/a');
    expect(seen?.headers['x-user-id']).toBe('client-a');
    expect(seen?.headers['x-client-id']).toBe('client-a');
    expect(seen?.headers['x-user-roles']).toBe('admin,ops');
    expect(seen?.headers['x_client_id']).toBeUndefined();
  });

  it('a certificate without a CN is named by its subjectAltName (a SPIFFE id)', async () => {
    demo.reset();
    await get('/secure/b', 'spiffe');
    expect(lastCall('/secure/b')?.headers['x-user-id']).toBe('spiffe://test/ns/shop/sa/orders');
  });

  it('subjectAltNames are picked by kind: the URI wins over a DNS name and an email written before it', async () => {
    demo.reset();
    await get('/secure/m', 'multi-san');
    expect(lastCall('/secure/m')?.headers['x-user-id']).toBe('spiffe://test/ns/shop/sa/multi');
  });

  it('no client certificate: 401 UNAUTHENTICATED, the upstream is not called', async () => {
    demo.reset();
    const res = await get('/secure/c');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', error: 'this route needs a client certificate' });
    expect(lastCall('/secure/c')).toBeUndefined();
  });

  it('a certificate from another CA: 401 with the verification reason, the upstream is not called', async () => {
    demo.reset();
    const res = await get('/secure/d', 'stranger');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    expect(res.body.error).toMatch(/^client certificate not verified \(UNABLE_TO_VERIFY_LEAF_SIGNATURE|^client certificate not verified \(/);
    expect(lastCall('/secure/d')).toBeUndefined();
  });

  it('roles on an mtls route come from server.tls.clientRoles: a subject without the role gets 403', async () => {
    demo.reset();
    await get('/admins/x', 'client');
    expect(lastCall('/admins/x')?.headers['x-user-id']).toBe('client-a');
    const res = await get('/admins/y', 'spiffe');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
    expect(lastCall('/admins/y')).toBeUndefined();
  });

  it('auth: any accepts a client certificate as the credential, and refuses a caller with none', async () => {
    demo.reset();
    await get('/any/1', 'client');
    expect(lastCall('/any/1')?.headers['x-user-id']).toBe('client-a');
    expect((await get('/any/2')).status).toBe(401);
  });

  it('on a route without auth, a verified certificate still names the caller; no certificate stays anonymous', async () => {
    demo.reset();
    await get('/open/1', 'client');
    expect(lastCall('/open/1')?.headers['x-user-id']).toBe('client-a');
    await get('/open/2', undefined, { 'x-user-id': 'forged' });
    expect(lastCall('/open/2')?.headers['x-user-id']).toBeUndefined();
  });
});

describe('mTLS and the auth throttle', () => {
  it('refused certificates count as failed authentications; once blocked, presenting a certificate is refused 429, no certificate still passes', async () => {
    const strict = await startTestGateway({
      demo,
      configure: (c) => {
        c.server.tls = { cert: pki.path('server.pem'), key: pki.path('server-key.pem'), clientCa: pki.path('ca.pem') };
        c.auth = { failureLimit: { points: 2, durationSec: 60 } };
        c.routes = [
          { name: 'secure', match: { pathPrefix: '/secure' }, upstream: 'users', auth: 'mtls' },
          { name: 'open', match: { pathPrefix: '/open' }, upstream: 'users' },
        ];
      },
    });
    const at = (path: string, as?: string) =>
      new Promise<number>((resolve, reject) => {
        const cert = as ? { cert: pki.read(`${as}.pem`), key: pki.read(`${as}-key.pem`) } : {};
        const req = httpsRequest(`${strict.url}${path}`, { agent: false, ca: pki.read('ca.pem'), ...cert }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await at('/secure/1', 'stranger')).toBe(401);
      expect(await at('/secure/2', 'stranger')).toBe(401);
      expect(await at('/secure/3', 'stranger')).toBe(429);
      // Even a good certificate: the throttle refuses credentials from this client until the window ends.
      expect(await at('/secure/4', 'client')).toBe(429);
      expect(await at('/open/5')).not.toBe(429);
    } finally {
      await strict.close();
    }
  });
});

describe('mTLS and GraphQL', () => {
  const me = (as?: string) => get('/graphql', as, { 'content-type': 'application/json' }, JSON.stringify({ query: '{ me { id } }' }));

  it('a field that needs an identity names the client certificate as a way to get one', async () => {
    const res = await me();
    expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(res.body.errors[0].message).toContain('a client certificate (mTLS)');
  });

  it('a verified client certificate is an identity there too', async () => {
    demo.reset();
    const res = await me('client');
    expect(res.body.errors?.map((e: { extensions: { code: string } }) => e.extensions.code) ?? []).not.toContain('UNAUTHENTICATED');
  });
});

describe('certificateSubject', () => {
  it('prefers the subject CN', () => {
    expect(certificateSubject({ subject: { CN: 'svc' } as never, subjectaltname: 'DNS:other' })).toBe('svc');
  });

  it('reads back a lone subjectAltName value, plain or JSON-quoted as node writes it', () => {
    fc.assert(
      fc.property(fc.constantFrom('DNS', 'URI', 'email'), fc.string({ minLength: 1 }).filter((v) => !v.startsWith('<')), fc.string(), (kind, value, rest) => {
        const needsQuotes = /[,"\\\s]|^$/.test(value) || /[^\x20-\x7e]/.test(value);
        const first = `${kind}:${needsQuotes ? JSON.stringify(value) : value}`;
        // A later entry of a kind preferred less (or the same kind) does not change the pick.
        const san = rest ? `${first}, ${kind === 'email' ? 'IP Address' : 'email'}:${JSON.stringify(rest)}` : first;
        expect(certificateSubject({ subject: {} as never, subjectaltname: san })).toBe(value);
      }),
    );
  });

  it('picks by kind: URI, then DNS, then email, whatever their order; IP addresses never name a client', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(['URI:spiffe://t/a', 'DNS:svc.internal', 'email:ops@example.com', 'IP Address:10.0.0.1'], { minLength: 1 }), (entries) => {
        const expected = ['URI:', 'DNS:', 'email:'].map((k) => entries.find((e) => e.startsWith(k))).find((e) => e !== undefined);
        const got = certificateSubject({ subject: {} as never, subjectaltname: entries.join(', ') });
        expect(got).toBe(expected?.slice(expected.indexOf(':') + 1));
      }),
    );
  });

  it('refuses placeholders such as <unsupported>, in the CN or the chosen subjectAltName', () => {
    expect(certificateSubject({ subject: {} as never, subjectaltname: 'URI:<unsupported>, DNS:svc' })).toBeUndefined();
    expect(certificateSubject({ subject: {} as never, subjectaltname: 'othername:<unsupported>' })).toBeUndefined();
    expect(certificateSubject({ subject: {} as never, subjectaltname: 'othername:<unsupported>, DNS:svc' })).toBe('svc');
    expect(certificateSubject({ subject: { CN: '<unsupported>' } as never, subjectaltname: 'DNS:svc' })).toBeUndefined();
  });

  it('none at all: undefined', () => {
    expect(certificateSubject({ subject: {} as never, subjectaltname: undefined as never })).toBeUndefined();
  });
});
