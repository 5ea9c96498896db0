/**
 * Regression: an IPv6 peer spelled with an embedded IPv4 tail (`fc00::0.0.0.0`) was trusted by our
 * reading (`fc00::`, inside `uniquelocal`) but not by proxy-addr's, whose older ipaddr.js parses that
 * spelling differently; the walk then stopped at the peer although the peer was reported trusted.
 * Found by fast-check in test/security/client-ip.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createClientAddressResolver } from '../../src/plugins/use-client-ip.js';

const resolveWith = (trust: string[], peer: string, xff: string) =>
  createClientAddressResolver(trust)({ headers: { 'x-forwarded-for': xff }, socket: { remoteAddress: peer } } as never);

describe('a trusted peer in an unusual but valid spelling', () => {
  it.each([
    ['fc00::0.0.0.0', ['uniquelocal', '2001:db8::/32'], 'fc00::'],
    ['fc00::0.0.0.0', ['uniquelocal'], 'fc00::'],
    ['fd12:3456::10.0.0.1', ['fc00::/7'], 'fd12:3456::a00:1'],
    ['0:0:0:0:0:0:0:1', ['loopback'], '::1'],
  ])('peer %s under %j: the walk goes past it to the forwarded client', (peer, trust, canonicalPeer) => {
    const r = resolveWith(trust, peer, '203.0.113.9');
    expect(r.chain.peerTrusted).toBe(true);
    expect(r.ip).toBe('203.0.113.9');
    expect(r.chain.hops).toEqual(['203.0.113.9', canonicalPeer]);
  });

  it('an untrusted peer in the same spelling still ends the walk', () => {
    const r = resolveWith(['10.0.0.0/8'], 'fc00::0.0.0.0', '203.0.113.9');
    expect(r.ip).toBe('fc00::');
    expect(r.chain.hops).toEqual(['fc00::']);
  });
});
