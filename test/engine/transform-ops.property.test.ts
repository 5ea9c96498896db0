/**
 * Property tests for the normalisers behind route transformations: header operations (names
 * compiled case-insensitively, remove → rename → add), header-name validation, templates, and
 * query operations (checked against URLSearchParams' reading of the result).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compileHeaderOps, foldHeaderName, passesHeader } from '../../src/proxy/header-ops.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/forward-headers.js';
import { applyQueryOps, compileQueryOps } from '../../src/proxy/query-ops.js';
import { HOP_BY_HOP, isHeaderName, isReservedHeader, unwritableHeader } from '../../src/http/reserved-headers.js';
import { RequestContext } from '../../src/context.js';
import type { CompiledRoute } from '../../src/http/route.js';
import { compileHeaderTemplate } from '../../src/http/header-template.js';

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/).filter((n) => unwritableHeader(n, 'response') === undefined);
const value = fc.stringMatching(/^[a-zA-Z0-9 ,;=]{0,8}$/);
const randomCase = (s: string, flips: boolean[]): string => [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');

describe('header operations (property)', () => {
  it('compile the same whatever the letter case of the names', () => {
    fc.assert(
      fc.property(fc.dictionary(token, value, { maxKeys: 4 }), fc.array(token, { maxLength: 4 }), fc.dictionary(token, token, { maxKeys: 3 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (add, remove, rename, flips) => {
        const lower = compileHeaderOps({ add, remove, rename }, 'response');
        const cased = compileHeaderOps({
          add: Object.fromEntries(Object.entries(add).map(([k, v]) => [randomCase(k, flips), v])),
          remove: remove.map((r) => randomCase(r, flips)),
          rename: Object.fromEntries(Object.entries(rename).map(([k, v]) => [randomCase(k, flips), randomCase(v, flips)])),
        }, 'response');
        expect([...cased.remove].sort()).toEqual([...lower.remove].sort());
        expect(cased.add).toEqual(lower.add);
        expect(cased.rename === null ? null : [...cased.rename]).toEqual(lower.rename === null ? null : [...lower.rename]);
      }),
    );
  });

  it('apply in the order remove, rename, add: the result follows from the input alone', () => {
    fc.assert(
      fc.property(fc.dictionary(token, value, { maxKeys: 6 }), fc.dictionary(token, value, { maxKeys: 3 }), fc.array(token, { maxLength: 3 }), fc.dictionary(token, token, { maxKeys: 3 }), (incoming, add, remove, rename) => {
        // Rename sources that are also targets make the order within renames matter; keep them apart.
        const targets = new Set(Object.values(rename));
        fc.pre(Object.keys(rename).every((k) => !targets.has(k)));
        const out = clientResponseHeaders(incoming, compileHeaderOps({ add, remove, rename }, 'response'));
        for (const name of remove) if (!(name in add) && !targets.has(name)) expect(out[name]).toBeUndefined();
        for (const [from, to] of Object.entries(rename)) {
          if (from in add || to in add) continue;
          const src = remove.includes(from) ? undefined : incoming[from];
          if (src !== undefined) {
            expect(out[from]).toBeUndefined();
            if (Object.entries(rename).filter(([f, t]) => t === to && f !== from && incoming[f] !== undefined && !remove.includes(f)).length === 0) expect(out[to]).toBe(src);
          }
        }
        for (const [k, v] of Object.entries(add)) expect(out[k]).toBe(v);
        for (const [k, v] of Object.entries(incoming)) {
          if (!remove.includes(k) && !(k in rename) && !targets.has(k) && !(k in add)) expect(out[k]).toBe(v);
        }
      }),
    );
  });

  it('no other spelling of a name an operation touches survives (case, `_`, `.`), and unrelated names do', () => {
    const spell = (name: string, seps: string[], flips: boolean[]): string => {
      let i = 0;
      return randomCase(name.replace(/-/g, () => seps[i++ % seps.length]!), flips);
    };
    const sep = fc.array(fc.constantFrom('-', '_', '.'), { minLength: 1, maxLength: 4 });
    const dashed = fc.stringMatching(/^[a-z]{1,4}-[a-z]{1,4}$/).filter((n) => unwritableHeader(n, 'response') === undefined);
    fc.assert(
      fc.property(dashed, fc.constantFrom('add', 'remove', 'renameFrom', 'renameTo'), sep, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), dashed, (name, op, seps, flips, other) => {
        const spelled = spell(name, seps, flips).toLowerCase();
        fc.pre(spelled !== name && foldHeaderName(other) !== name);
        const cfg = { add: {} as Record<string, string>, remove: [] as string[], rename: {} as Record<string, string> };
        if (op === 'add') cfg.add[randomCase(name, flips)] = 'set';
        else if (op === 'remove') cfg.remove.push(randomCase(name, flips));
        else if (op === 'renameFrom') cfg.rename[randomCase(name, flips)] = 'x-renamed';
        else cfg.rename['x-source'] = randomCase(name, flips);
        const out = clientResponseHeaders({ [spelled]: 'smuggled', [other]: 'o' }, compileHeaderOps(cfg, 'response'));
        expect(out[spelled]).toBeUndefined();
        expect(Object.values(out)).not.toContain('smuggled');
        expect(out[other]).toBe('o');
      }),
    );
  });

  it('the folded form lower-cases and reads `_` and `.` as `-`', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/), (n) => {
        const f = foldHeaderName(n);
        expect(f).toBe(n.toLowerCase().replace(/[_.]/g, '-'));
        expect(foldHeaderName(f)).toBe(f);
      }),
    );
  });

  it('a header name is accepted exactly when it is an RFC 9110 token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 12 }), (s) => {
        expect(isHeaderName(s)).toBe(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s));
      }),
    );
  });

  it('a gateway-owned request header is unwritable in any case and any separator spelling', () => {
    fc.assert(
      fc.property(fc.constantFrom('x-user-id', 'x-user-roles', 'x-client-id', 'x-forwarded-for', 'traceparent', 'x-request-id', 'host', 'connection', 'content-length'), fc.array(fc.constantFrom('-', '_', '.'), { minLength: 4, maxLength: 4 }), (name, seps) => {
        let i = 0;
        const spelled = name.replace(/-/g, () => seps[i++ % seps.length]!);
        expect(unwritableHeader(spelled, 'request')).toBeDefined();
      }),
    );
  });

  it('a template without variables is the string itself; text around variables survives', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9 ,.:;=/-]{0,20}$/), fc.stringMatching(/^[a-zA-Z0-9 ,.:;=/-]{0,20}$/), (before, after) => {
        expect(compileHeaderTemplate(before, 'response')).toBe(before);
        const t = compileHeaderTemplate(`${before}\${route.name}${after}`, 'response');
        expect(Array.isArray(t)).toBe(true);
        const parts = t as Array<string | { kind: string }>;
        expect(parts.filter((p) => typeof p === 'string').join('')).toBe(before + after);
        expect(parts.filter((p) => typeof p !== 'string')).toEqual([{ kind: 'route.name' }]);
      }),
    );
  });
});

/**
 * The verdict a received header gets, written out from the rule (not from the compiled table):
 * hop-by-hop, removed, another spelling of a touched name (the exact lower-case spelling of a
 * touched name passes), and on requests pseudo-headers and reserved names in any spelling.
 */
function expectedPass(name: string, cfg: { add: Record<string, string>; remove: string[]; rename: Record<string, string> }, direction: 'request' | 'response'): boolean {
  const lower = name.toLowerCase();
  const fold = (n: string) => n.toLowerCase().replace(/[_.]/g, '-');
  if (HOP_BY_HOP.has(lower) || cfg.remove.some((r) => r.toLowerCase() === lower)) return false;
  if (direction === 'request' && (lower.startsWith(':') || isReservedHeader(lower))) return false;
  if (cfg.remove.some((r) => fold(r) === fold(name))) return false;
  const touched = [...Object.keys(cfg.add), ...Object.keys(cfg.rename), ...Object.values(cfg.rename)].map((n) => n.toLowerCase());
  return !touched.some((t) => fold(t) === fold(name) && t !== name);
}

/** Respells a dashed name: each `-` as one of `seps`, letters flipped to upper case where `flips` says. */
function respell(name: string, seps: string[], flips: boolean[]): string {
  let i = 0;
  return randomCase(name.replace(/-/g, () => seps[i++ % seps.length]!), flips);
}

describe('header verdict table (property)', () => {
  const known = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'host', 'x-user-id', 'x-forwarded-for', 'traceparent', 'x-request-id', 'accept', 'user-agent', 'cookie', 'content-type', 'x-internal', 'x-tenant', 'x-org'];
  const long = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/).map((w) => `x-${w}-${'long-name-'.repeat(8)}end`);
  const baseName = fc.oneof(fc.constantFrom(...known), token, long);
  const spelled = fc.tuple(baseName, fc.array(fc.constantFrom('-', '_', '.'), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.boolean())
    .map(([n, seps, flips, lowered]) => (lowered ? respell(n, seps, flips).toLowerCase() : respell(n, seps, flips)));
  const received = fc.oneof(baseName, spelled, fc.constantFrom(':path', ':authority'));
  // Removes may name hop-by-hop and reserved headers too (only writing them is refused).
  const removable = fc.oneof(fc.constantFrom(...known), token, long).chain((n) => fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }).map((f) => randomCase(n, f)));
  const writableIn = (direction: 'request' | 'response') => fc.oneof(fc.constantFrom('x-tenant', 'x-org', 'x-internal', 'accept'), token, long).filter((n) => unwritableHeader(n, direction) === undefined);
  const ops = (direction: 'request' | 'response') => fc.record({
    add: fc.dictionary(writableIn(direction), value, { maxKeys: 3 }),
    remove: fc.array(removable, { maxLength: 4 }),
    rename: fc.dictionary(writableIn(direction), writableIn(direction), { maxKeys: 2 }),
  });

  for (const direction of ['request', 'response'] as const) {
    it(`${direction}: the compiled table and the rule give every name the verdict the rule says, any case, any separator, any length`, () => {
      fc.assert(
        fc.property(ops(direction), fc.array(received, { minLength: 1, maxLength: 12 }), (cfg, names) => {
          const compiled = compileHeaderOps(cfg, direction);
          for (const name of names) expect(passesHeader(name, compiled), name).toBe(expectedPass(name, cfg, direction));
          for (const [name, v] of compiled.verdicts) expect(v, `table: ${name}`).toBe(expectedPass(name, cfg, direction));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the table is fixed at compile time: names clients send never enter it', () => {
    fc.assert(
      fc.property(ops('request'), fc.array(received, { minLength: 1, maxLength: 40 }), (cfg, names) => {
        const compiled = compileHeaderOps(cfg, 'request');
        const before = [...compiled.verdicts];
        for (const name of names) passesHeader(name, compiled);
        clientResponseHeaders(Object.fromEntries(names.map((n) => [n, 'v'])), compileHeaderOps(cfg, 'response'));
        expect([...compiled.verdicts]).toEqual(before);
      }),
    );
  });

  it('a name both removed and hop-by-hop is dropped, in the table and in either direction', () => {
    for (const direction of ['request', 'response'] as const) {
      const compiled = compileHeaderOps({ add: {}, remove: ['Connection', 'TE', 'X-Internal'], rename: {} }, direction);
      expect(compiled.verdicts.get('connection')).toBe(false);
      expect(compiled.verdicts.get('te')).toBe(false);
      for (const n of ['connection', 'Connection', 'te', 'TE', 'x-internal', 'X-Internal', 'x_internal', 'X.INTERNAL']) expect(passesHeader(n, compiled), n).toBe(false);
    }
  });

  it('mixed-case spellings of hop-by-hop and removed names do not pass on responses; unrelated mixed-case names do', () => {
    const out = clientResponseHeaders(
      { 'Transfer-Encoding': 'chunked', Connection: 'close', 'Keep-Alive': 'timeout=5', 'X-Internal': 'secret', 'X-Trace': 'keep', 'content-type': 'text/plain' },
      compileHeaderOps({ add: {}, remove: ['x-internal'], rename: {} }, 'response'),
    );
    expect(out).toEqual({ 'X-Trace': 'keep', 'content-type': 'text/plain' });
  });

  it('names over 64 characters are decided by the rule, the same on every request', () => {
    const longRemoved = `x-${'a'.repeat(70)}`;
    const route = { requestHeaders: compileHeaderOps({ add: { 'X-Tenant': 'acme' }, remove: [longRemoved], rename: {} }, 'request') } as unknown as CompiledRoute;
    const longKept = `x-${'b'.repeat(90)}`;
    const headers = { host: 'gw.test', [longKept]: 'kept', [longRemoved]: 'gone', [longRemoved.replace('-', '_')]: 'gone too', 'x_tenant': 'evil', x_user_id: 'evil' };
    const req = { method: 'GET', url: '/', headers, socket: {} } as unknown as IncomingMessage;
    const ctx = new RequestContext(req, {} as ServerResponse, 0);
    ctx.id = 'rid';
    ctx.ip = '192.0.2.1';
    ctx.forwarded = { hops: ['192.0.2.1'], peerTrusted: false };
    const size = route.requestHeaders.verdicts.size;
    for (let i = 0; i < 3; i++) {
      const out = upstreamRequestHeaders(ctx, route);
      expect(out[longKept]).toBe('kept');
      expect(Object.values(out)).not.toContain('gone');
      expect(Object.values(out)).not.toContain('gone too');
      expect(Object.values(out)).not.toContain('evil');
      expect(out['x-tenant']).toBe('acme');
    }
    expect(route.requestHeaders.verdicts.size).toBe(size);
  });
});

const qname = fc.stringMatching(/^[a-z]{1,3}$/);
const qvalue = fc.string({ maxLength: 6 });

describe('query operations (property)', () => {
  it('match URLSearchParams: removed gone, renamed under the new name, added set once, others unchanged and in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(qname, qvalue), { maxLength: 8 }), fc.array(qname, { maxLength: 2 }), fc.dictionary(qname, qname, { maxKeys: 2 }), fc.dictionary(qname, qvalue, { maxKeys: 2 }), (pairs, remove, rename, add) => {
        const targets = new Set(Object.values(rename));
        fc.pre(Object.keys(rename).every((k) => !targets.has(k) && !remove.includes(k)));
        const raw = new URLSearchParams(pairs).toString();
        const out = new URLSearchParams(applyQueryOps(raw, compileQueryOps({ add, remove, rename })));
        for (const [k, v] of Object.entries(add)) expect(out.getAll(k)).toEqual([v]);
        const present = new Set(pairs.map(([k]) => k));
        for (const r of remove) if (!(r in add) && !targets.has(r)) expect(out.has(r)).toBe(false);
        for (const [from, to] of Object.entries(rename)) {
          if (to in add) continue;
          expect(out.has(from) && !(from in add) && !targets.has(from)).toBe(false);
          const sources = Object.entries(rename).filter(([, t]) => t === to).map(([f]) => f);
          const expected = pairs.filter(([k]) => sources.includes(k)).map(([, v]) => v);
          if (sources.some((s) => present.has(s))) expect(out.getAll(to)).toEqual(expected);
        }
        const untouched = (k: string) => !remove.includes(k) && !(k in rename) && !targets.has(k) && !(k in add);
        expect([...out].filter(([k]) => untouched(k))).toEqual(pairs.filter(([k]) => untouched(k)));
      }),
    );
  });

  it('names are compared without regard to case: no other casing of a removed, renamed or added name survives', () => {
    fc.assert(
      fc.property(qname, fc.constantFrom('add', 'remove', 'rename'), fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(qname, qvalue), { maxLength: 4 }), (name, op, flips, others) => {
        const cased = randomCase(name, flips.map((f) => !f));
        const cfg = { add: {} as Record<string, string>, remove: [] as string[], rename: {} as Record<string, string> };
        if (op === 'add') cfg.add[randomCase(name, flips)] = 'set';
        else if (op === 'remove') cfg.remove.push(randomCase(name, flips));
        else cfg.rename[randomCase(name, flips)] = 'zzzz';
        const raw = new URLSearchParams([...others.filter(([k]) => k !== name), [cased, 'smuggled']]).toString();
        const out = new URLSearchParams(applyQueryOps(raw, compileQueryOps(cfg)));
        const values = [...out].filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
        expect(values).toEqual(op === 'add' ? ['set'] : []);
        if (op === 'rename') expect(out.getAll('zzzz')).toEqual(['smuggled']);
      }),
    );
  });

  it('parameters no operation names keep their raw bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,3}=[a-zA-Z0-9%+~._-]{0,6}$/), { maxLength: 6 }), (pairs) => {
        const raw = pairs.join('&');
        const out = applyQueryOps(raw, compileQueryOps({ add: {}, remove: ['zzzz'], rename: { yyyy: 'x' } }));
        expect(out).toBe(pairs.filter((p) => p !== '').join('&'));
      }),
    );
  });
});
