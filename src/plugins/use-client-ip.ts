/**
 * The client address, decided once per request for the IP filter, rate limits, logs, metrics
 * and the X-Forwarded-For sent upstream.
 *
 * Trust is counted from the right (proxy-addr): the walk starts at the socket peer and goes
 * left through X-Forwarded-For while the hop it is standing on is a trusted proxy; the first
 * address that is not trusted is the client. Entries left of it are whatever the client chose
 * to write and are never read. An entry that is not a plain IPv4/IPv6 address (`unknown`,
 * `1.2.3.4:80`, `[::1]`, zone ids, obfuscated IPv4 such as `0x7f.1`) is never trusted and
 * never becomes the client address: the walk stops there and the last address it vouched for
 * (the hop that wrote the garbage) is the client.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import type { IncomingMessage } from 'node:http';
import type { ForwardedChain } from '../context.js';
import type { GatewayPlugin } from './types.js';

/**
 * `false`: no proxy is trusted; `true` (= 1) or N: the nearest N hops are trusted proxies;
 * a list: trusted proxy addresses, as IPs, CIDR blocks or proxy-addr's names
 * `loopback`, `linklocal`, `uniquelocal`.
 */
export type TrustProxy = boolean | number | readonly string[];

/** Options for {@link useClientIp}. */
export interface ClientIpOptions {
  /** Which hops in front of the gateway are trusted proxies (see {@link TrustProxy}). @default false */
  trustProxy?: TrustProxy;
}

/** A plain IPv4 or IPv6 address in one spelling: IPv4-mapped IPv6 as IPv4, IPv6 compressed and lower-case. */
export function canonicalIp(value: string | undefined): string | undefined {
  // node's isIP takes only dotted-quad IPv4 (no octal, hex or short forms); zone ids are refused.
  if (!value || value.length > 45) return undefined;
  const family = isIP(value);
  // A dotted quad node accepts has no leading zeros: it is already the one spelling.
  if (family === 4) return value;
  if (family === 0 || value.includes('%')) return undefined;
  const addr = ipaddr.parse(value);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address().toString();
  return addr.toString();
}

type TrustFn = (addr: string, hop: number) => boolean;

/** Compiles the trust setting into proxy-addr's `(addr, hop)` predicate; undefined when nothing is trusted. */
export function compileTrust(trust: TrustProxy | undefined): TrustFn | undefined {
  if (trust === undefined || trust === false || trust === 0) return undefined;
  let inner: TrustFn;
  if (trust === true) inner = (_a, hop) => hop < 1;
  else if (typeof trust === 'number') inner = (_a, hop) => hop < trust;
  else if (trust.length === 0) return undefined;
  else inner = proxyaddr.compile([...trust]);
  // A hop that is not a valid address is never trusted, whatever the count says. proxy-addr is
  // handed the canonical spelling: its own parser (an older ipaddr.js) reads some valid spellings
  // differently (`fc00::0.0.0.0` fell outside `uniquelocal`), and one reading must decide.
  return (addr, hop) => {
    const c = canonicalIp(addr);
    return c !== undefined && inner(c, hop);
  };
}

/** Where the request came from, given the socket peer and the X-Forwarded-For it carried. */
export interface ClientAddress {
  /** The client address (canonical), or '' when the socket has none (already closed). */
  ip: string;
  chain: ForwardedChain;
}

/** Builds the resolver for one trust setting: compiled once, run per request. */
export function createClientAddressResolver(trust: TrustProxy | undefined): (req: Pick<IncomingMessage, 'headers' | 'socket'>) => ClientAddress {
  const trusted = compileTrust(trust);
  return (req) => {
    const peer = canonicalIp(req.socket.remoteAddress) ?? '';
    if (!trusted || !peer) return { ip: peer, chain: { hops: peer ? [peer] : [], peerTrusted: false } };
    // proxy-addr's list runs peer first, then X-Forwarded-For right to left, cut after the first untrusted hop.
    const walked = proxyaddr.all(req as IncomingMessage, trusted);
    const hops: string[] = [];
    for (const a of walked) {
      const c = canonicalIp(a);
      if (c === undefined) break;
      hops.push(c);
    }
    hops.reverse();
    return { ip: hops[0] ?? peer, chain: { hops, peerTrusted: trusted(peer, 0) } };
  };
}

/** Establishes the client IP used by the IP filter, rate limits and logs. */
export function useClientIp(opts: ClientIpOptions = {}): GatewayPlugin {
  const resolve = createClientAddressResolver(opts.trustProxy);
  return {
    name: 'client-ip',
    onRequest(ctx) {
      const r = resolve(ctx.req);
      ctx.ip = r.ip;
      ctx.forwarded = r.chain;
    },
  };
}
