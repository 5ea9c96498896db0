/**
 * Regression: composition checked a gRPC binding against the service its own proto reader chose
 * (src/graphql/bindings/proto-info.ts), while the upstream client chose with another reader
 * (src/upstream/grpc/grpc-upstream.ts). Composition resolved a configured `service` with
 * protobufjs' lookup, so `Catalog`, `v1.Catalog` or `.shop.v1.Catalog` passed the check and the
 * gateway then failed to start the upstream ("service Catalog not found"). Both now read through
 * src/upstream/grpc/proto-service.ts. Asserted against a real GrpcUpstream.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProtoService } from '../../src/graphql/bindings/proto-info.js';
import { GrpcUpstream } from '../../src/upstream/grpc/grpc-upstream.js';
import type { UpstreamConfig } from '../../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-proto-choice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two services; the one declared first is not first in alphabetical order. */
const PROTO = join(dir, 'shop.proto');
writeFileSync(PROTO, `syntax = "proto3";
package shop.v1;
message GetOrderRequest { string id = 1; }
message Order { string id = 1; }
message FindRequest { string query = 1; int32 limit = 2; }
message Found { repeated string ids = 1; }
service Orders { rpc GetOrder (GetOrderRequest) returns (Order); }
service Catalog { rpc Find (FindRequest) returns (Found); rpc Count (FindRequest) returns (Found); }
`);

/** The upstream client as the gateway builds it (targets are never called). */
function runtime(service: string | undefined, proto = PROTO): { fullName: string; methods: string[] } | Error {
  const config = { protocol: 'grpc', proto, service, idempotentMethods: [], targets: [{ url: '127.0.0.1:1', weight: 1 }] } as unknown as UpstreamConfig;
  try {
    const u = new GrpcUpstream('shop', config, dir, []);
    void u.close();
    return { fullName: u.service.fullName, methods: [...u.requestTypes.keys()].sort() };
  } catch (err) {
    return err as Error;
  }
}

/** What composition checks bindings against. */
function composition(service: string | undefined, proto = PROTO): { fullName: string; methods: string[] } | Error {
  try {
    const p = loadProtoService(proto, service);
    return { fullName: p.fullName, methods: [...p.methods.keys()].sort() };
  } catch (err) {
    return err as Error;
  }
}

describe('composition and the upstream client choose the same gRPC service', () => {
  it('without `service`, both take the first service declared (shop.v1.Orders), with the same methods', () => {
    const r = runtime(undefined);
    const c = composition(undefined);
    expect(r).toEqual({ fullName: 'shop.v1.Orders', methods: ['GetOrder'] });
    expect(c).toEqual(r);
  });

  it('with the fully qualified name, both take that service', () => {
    const r = runtime('shop.v1.Catalog');
    expect(r).toEqual({ fullName: 'shop.v1.Catalog', methods: ['Count', 'Find'] });
    expect(composition('shop.v1.Catalog')).toEqual(r);
  });

  it.each(['Catalog', 'v1.Catalog', '.shop.v1.Catalog', 'shop.v1.Missing'])('`service: %s` is refused by both, with the same message', (name) => {
    const r = runtime(name);
    const c = composition(name);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe(`${PROTO}: service ${name} not found`);
    expect(c).toBeInstanceOf(Error);
    expect((c as Error).message).toBe((r as Error).message);
  });

  it('a missing proto file is refused by both, with the same message', () => {
    const missing = join(dir, 'nope.proto');
    const r = runtime(undefined, missing);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe(`${missing}: proto file not found`);
    expect((composition(undefined, missing) as Error).message).toBe((r as Error).message);
  });
});
