/**
 * Property tests for the REST→gRPC message check (src/proxy/grpc-message.ts): whatever it
 * accepts encodes exactly as sent; whatever breaks a field's type is refused with BAD_REQUEST.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { checkMessage, fromQueryText } from '../../src/proxy/grpc-message.js';
import { isGatewayError } from '../../src/errors.js';
import { VAULT_PROTO } from './helpers/upstream-isolation.js';

const type = protobuf.loadSync(VAULT_PROTO).resolveAll().lookupType('isolation.v1.LookupRequest');

function verdict(v: unknown): 'ok' | 'refused' {
  try {
    checkMessage(type, v);
    return 'ok';
  } catch (err) {
    if (isGatewayError(err) && err.code === 'BAD_REQUEST') return 'refused';
    throw err;
  }
}

function roundTrip(v: unknown): Record<string, unknown> {
  const msg = type.fromObject(v as Record<string, unknown>);
  expect(type.verify(msg)).toBeNull();
  return type.toObject(type.decode(type.encode(msg).finish()), { longs: String, enums: String, bytes: String });
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const wellTyped = fc.record(
  {
    ids: fc.array(fc.string()),
    limit: int32,
    offset: fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
    verbose: fc.boolean(),
    ratio: fc.double({ noNaN: true, noDefaultInfinity: true }),
    kind: fc.constantFrom('KIND_UNSPECIFIED', 'KIND_A', 0, 1),
    inner: fc.record({ label: fc.string() }),
    tags: fc.dictionary(fc.string().filter((k) => k !== '__proto__'), int32),
    byNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  },
  { requiredKeys: [] },
);

describe('checkMessage properties', () => {
  it('never throws anything but BAD_REQUEST, and what it accepts encodes without error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom(...Object.keys(type.fields), 'x'), fc.jsonValue())), (v) => {
        if (verdict(v) === 'ok') roundTrip(v);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every well-typed message, and the upstream receives exactly those values', () => {
    fc.assert(
      fc.property(wellTyped, (v) => {
        expect(verdict(v)).toBe('ok');
        const back = roundTrip(v);
        if (v.ids?.length) expect(back.ids).toEqual(v.ids);
        if (v.limit) expect(back.limit).toBe(v.limit);
        if (v.offset !== undefined && String(v.offset) !== '0') expect(back.offset).toBe(String(v.offset));
        if (v.inner?.label) expect((back.inner as { label: string }).label).toBe(v.inner.label);
        if (v.byNumber) expect(back.byNumber).toBe(v.byNumber);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses any value of the wrong JSON type for a field', () => {
    const notIntegerInRange = fc.oneof(fc.string(), fc.boolean(), fc.double().filter((d) => !Number.isInteger(d) || d > 2 ** 31 - 1 || d < -(2 ** 31)), fc.array(fc.integer()), fc.object());
    const notString = fc.oneof(fc.integer(), fc.boolean(), fc.double(), fc.object(), fc.array(fc.integer(), { minLength: 1 }));
    fc.assert(
      fc.property(
        fc.oneof(
          notIntegerInRange.map((x) => ({ limit: x })),
          notString.map((x) => ({ ids: [x] })),
          notString.filter((x) => !Array.isArray(x)).map((x) => ({ ids: x })),
          notString.map((x) => ({ inner: { label: x } })),
          fc.oneof(fc.string(), fc.integer(), fc.double()).map((x) => ({ verbose: x })),
          fc.string({ minLength: 1 }).filter((k) => !Object.hasOwn(type.fields, k)).map((k) => ({ [k]: 1 })),
        ),
        (v) => {
          expect(verdict(v)).toBe('refused');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('query text: int32 fields take exactly the integers in range', () => {
    const limit = type.fields.limit!;
    fc.assert(
      fc.property(fc.oneof(int32.map(String), fc.constantFrom('-0', '0', '-00'), fc.string(), fc.bigInt().map(String)), (text) => {
        const ok = verdict({ limit: fromQueryText(limit, text) }) === 'ok';
        const n = Number(text);
        const expected = /^-?(0|[1-9]\d*)$/.test(text) && n >= -(2 ** 31) && n <= 2 ** 31 - 1;
        expect(ok).toBe(expected);
        // Integers have no negative zero: `-0` is read as 0, the value the wire carries.
        if (ok) expect(fromQueryText(limit, text)).toBe(n + 0);
        if (ok) expect(roundTrip({ limit: fromQueryText(limit, text) }).limit ?? 0).toBe(n + 0);
      }),
      { numRuns: 2000 },
    );
  });
});
