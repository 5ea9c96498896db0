/**
 * IP filter (`server.ipFilter`): CIDR allow and deny lists for IPv4 and IPv6, compiled once.
 * Deny wins over allow; with a non-empty allow list, anything outside it is denied (403).
 * IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) are judged as the IPv4 address they carry.
 */
import ipaddr from 'ipaddr.js';
import { Forbidden } from '../errors.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useIpFilter}. */
export interface IpFilterOptions {
  /** CIDR blocks (or single addresses) allowed; empty allows every address not denied. @default [] */
  allow?: string[];
  /** CIDR blocks (or single addresses) always refused. @default [] */
  deny?: string[];
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses a CIDR block or a bare address (a /32 or /128); throws naming the bad entry. */
export function parseRange(entry: string): Range {
  if (!entry.includes('/')) {
    const addr = ipaddr.process(entry);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  }
  const [addr, bits] = ipaddr.parseCIDR(entry);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)];
  }
  return [addr, bits];
}

function inAny(addr: ipaddr.IPv4 | ipaddr.IPv6, ranges: Range[]): boolean {
  const kind = addr.kind();
  for (const r of ranges) if (r[0].kind() === kind && addr.match(r as never)) return true;
  return false;
}

/** True when the address may pass. Unparseable addresses are refused. */
export function compileIpFilter(opts: IpFilterOptions): (ip: string) => boolean {
  const allow = (opts.allow ?? []).map(parseRange);
  const deny = (opts.deny ?? []).map(parseRange);
  return (ip) => {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(ip);
    } catch {
      return false;
    }
    if (inAny(addr, deny)) return false;
    return allow.length === 0 || inAny(addr, allow);
  };
}

/** Refuses requests from denied addresses with 403 FORBIDDEN, on every path but /healthz. */
export function useIpFilter(opts: IpFilterOptions | undefined): GatewayPlugin {
  if (!opts || ((opts.allow ?? []).length === 0 && (opts.deny ?? []).length === 0)) return { name: 'ip-filter' };
  const passes = compileIpFilter(opts);
  return {
    name: 'ip-filter',
    onRequest(ctx) {
      if (ctx.target.kind === 'internal' && ctx.target.path === '/healthz') return;
      if (!passes(ctx.ip)) throw Forbidden('client address is not allowed');
    },
  };
}
