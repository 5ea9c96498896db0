/**
 * Binding templates and response mapping: tables of known inputs, known-bad templates, and
 * fast-check properties of the path renderer (a value never leaves its path segment or its query
 * component, whatever it holds) and of the JSON template (a value is placed, never parsed).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isGatewayError } from '../../src/errors.js';
import { TemplateError, parseHeader, parseJsonTemplate, parsePath, parseRef, renderHeader, renderJson, renderPath, type TemplateInput } from '../../src/graphql/bindings/template.js';
import { mapObject, parseRename, parseSelect, selectIn } from '../../src/graphql/bindings/mapping.js';
import type { Identity } from '../../src/context.js';

const CONFIG = { tenant: 'acme' } as Record<string, string>;
const config = (ref: { path: readonly string[]; text: string }) => {
  const v = CONFIG[ref.path[0]!];
  if (v === undefined) throw new TemplateError(`no ${ref.text}`);
  return v;
};
const identity: Identity = { kind: 'jwt', subject: 'u 7', roles: ['admin', 'ops'], clientId: 'u 7', claims: { tenant: 'eu/west' } };
const input = (args: Record<string, unknown> = {}, parent: unknown = {}, id: Identity | undefined = identity): TemplateInput => ({ args, parent, identity: id });

describe('references', () => {
  it.each([
    ['$args.id', 'args', ['id']],
    ['$args.input.items', 'args', ['input', 'items']],
    ['$parent.userId', 'parent', ['userId']],
    ['$identity.sub', 'identity', ['sub']],
    ['$identity.claims.tenant', 'identity', ['claims', 'tenant']],
    ['$config.tenant', 'config', ['tenant']],
  ])('%s', (text, source, path) => {
    expect(parseRef(text)).toEqual({ source, path, text });
  });

  it.each(['args.id', '$arg.id', '$args', '$args.', '$args..x', '$args.1x', '$identity.email', '$identity.claims', '$config.a.b', '$args.a-b', '$parent.__proto__x y'])('refuses %s', (text) => {
    expect(() => parseRef(text)).toThrow(TemplateError);
  });
});

describe('paths', () => {
  const render = (template: string, args: Record<string, unknown>) => renderPath(parsePath(template, config), input(args), 'T.f');

  it.each([
    ['/users/{$args.id}', { id: '7' }, '/users/7'],
    ['/users/{$args.id}', { id: 'a/b' }, '/users/a%2Fb'],
    ['/users/{$args.id}', { id: '..' }, '/users/%2E%2E'],
    ['/users/{$args.id}', { id: '.' }, '/users/%2E'],
    ['/users/{$args.id}.json', { id: '.' }, '/users/..json'],
    ['/users/{$args.id}', { id: 42 }, '/users/42'],
    ['/t/{$config.tenant}/users', {}, '/t/acme/users'],
    ['/orders?status={$args.s}&limit={$args.n}', { s: 'open', n: 10 }, '/orders?status=open&limit=10'],
    ['/orders?status={$args.s}&limit={$args.n}', { n: 10 }, '/orders?limit=10'],
    ['/orders?status={$args.s}&limit={$args.n}', { s: null, n: null }, '/orders'],
    ['/orders?ids={$args.ids}', { ids: ['1', 'a,b'] }, '/orders?ids=1,a%2Cb'],
    ['/orders?q={$args.q}&x=1', { q: 'a&x=2#' }, '/orders?q=a%26x%3D2%23&x=1'],
    ['/me/{$identity.sub}?t={$identity.claims.tenant}', {}, '/me/u%207?t=eu%2Fwest'],
  ])('%s with %j → %s', (template, args, expected) => {
    expect(render(template, args)).toBe(expected);
  });

  it.each([
    [{ id: null }, /null and cannot be an upstream path segment/],
    [{}, /null and cannot be an upstream path segment/],
    [{ id: '' }, /empty value/],
    [{ id: ['1'] }, /is a list/],
    [{ id: { a: 1 } }, /is an object/],
    [{ id: '\ud800' }, /lone surrogate/],
  ])('a path value %j fails the field', (args, message) => {
    let err: unknown;
    try {
      render('/users/{$args.id}', args);
    } catch (e) {
      err = e;
    }
    expect(isGatewayError(err) && err.code).toBe('BAD_REQUEST');
    expect((err as Error).message).toMatch(message);
  });

  it.each(['users/{$args.id}', '/a/../{$args.id}', '/a/%2e%2E/b', '/a b', '/a#b', '/a\\b', '/a?{$args.n}=1', '/a/{$args.id', '/a/{$nope.x}', '/t/{$config.missing}'])('refuses the template %s', (template) => {
    expect(() => parsePath(template, config)).toThrow(TemplateError);
  });

  it('property: a value stays inside its path segment and its query component', () => {
    const template = parsePath('/a/{$args.v}/b?q={$args.v}&r=1', config);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (v) => {
        let out: string;
        try {
          out = renderPath(template, input({ v }), 'T.f');
        } catch (err) {
          // Only values that cannot be a segment at all are refused, and as the client's error.
          expect(isGatewayError(err) && err.code).toBe('BAD_REQUEST');
          expect(v === '' || /[\ud800-\udfff]/.test(v)).toBe(true);
          return;
        }
        expect(out).toMatch(/^[\x21-\x7e]+$/);
        const [path, query, ...rest] = out.split('?');
        expect(rest).toEqual([]);
        const segments = path!.split('/');
        expect(segments).toHaveLength(4);
        expect([segments[0], segments[1], segments[3]]).toEqual(['', 'a', 'b']);
        expect(['.', '..']).not.toContain(segments[2]);
        expect(decodeURIComponent(segments[2]!)).toBe(v);
        expect(out).not.toContain('#');
        const params = query!.split('&');
        expect(params).toHaveLength(2);
        expect(params[0]!.startsWith('q=')).toBe(true);
        expect(decodeURIComponent(params[0]!.slice(2))).toBe(v);
        expect(params[1]).toBe('r=1');
      }),
      { numRuns: 500 },
    );
  });
});

describe('headers', () => {
  it('renders a header from the identity and config, leaves it out when a value is null', () => {
    const h = parseHeader('X-Tenant: {$identity.claims.tenant}-{$config.tenant}', config);
    expect(h.name).toBe('x-tenant');
    expect(renderHeader(h, input(), 'T.f')).toBe('eu/west-acme');
    expect(renderHeader(h, input({}, {}, { kind: 'anonymous', subject: undefined, roles: [], clientId: '127.0.0.1', claims: undefined }), 'T.f')).toBeUndefined();
  });

  it('refuses a line break from a value, and malformed templates', () => {
    const h = parseHeader('X-Note: {$args.note}', config);
    expect(() => renderHeader(h, input({ note: 'a\r\nX-Evil: 1' }), 'T.f')).toThrow(/line break/);
    for (const bad of ['X-Note', ': v', 'X Note: v', 'X-Note: {$args.x']) expect(() => parseHeader(bad, config)).toThrow(TemplateError);
  });
});

describe('JSON templates', () => {
  it('places whole references with their JSON type and interpolates text', () => {
    const t = parseJsonTemplate('{ "userId": "$identity.sub", "items": "$args.input.items", "note": "by {$identity.sub} for {$config.tenant}", "roles": "$identity.roles", "fixed": [1, {"a": true}], "missing": "$args.nope" }', config);
    const items = [{ productId: 'p1', quantity: 2 }];
    expect(renderJson(t, input({ input: { items } }))).toEqual({ userId: 'u 7', items, note: 'by u 7 for acme', roles: ['admin', 'ops'], fixed: [1, { a: true }], missing: null });
  });

  it('constants are copied, so a batch can add its keys without changing the template', () => {
    const t = parseJsonTemplate('{ "a": [1] }', config);
    const first = renderJson(t, input()) as { a: number[]; ids?: string[] };
    first.a.push(2);
    first.ids = ['x'];
    expect(renderJson(t, input())).toEqual({ a: [1] });
  });

  it.each(['{ "a": ', '{ "a": "{$args.x" }', '{ "a": "$args" }', '{ "a": "{$config.nope}" }'])('refuses %s', (text) => {
    expect(() => parseJsonTemplate(text, config)).toThrow(TemplateError);
  });

  it('property: a value is placed as data, never read as JSON or template syntax', () => {
    const t = parseJsonTemplate('{ "v": "$args.v", "s": "<{$args.s}>" }', config);
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (v, s) => {
        const out = renderJson(t, input({ v, s })) as Record<string, unknown>;
        expect(Object.keys(out)).toEqual(['v', 's']);
        expect(out.v).toStrictEqual(v === undefined ? null : v);
        expect(out.s).toBe(`<${s}>`);
      }),
      { numRuns: 200 },
    );
  });
});

describe('response mapping', () => {
  it('selects a dot path and renames fields of objects and of each list element', () => {
    const answer = { data: { items: [{ id: 1, price_cents: 250, owner: { id: 'u1' } }, { id: 2, price_cents: 10 }] } };
    const select = parseSelect('data.items');
    const renames = ['priceCents: price_cents', 'ownerId: owner.id'].map(parseRename);
    const items = selectIn(answer, select) as unknown[];
    expect(items.map((i) => mapObject(i, renames))).toEqual([
      { id: 1, price_cents: 250, owner: { id: 'u1' }, priceCents: 250, ownerId: 'u1' },
      { id: 2, price_cents: 10, priceCents: 10, ownerId: null },
    ]);
    // The answer itself is left as it was.
    expect((answer.data.items[0] as Record<string, unknown>).priceCents).toBeUndefined();
    expect(selectIn(answer, parseSelect(''))).toBe(answer);
    expect(selectIn(answer, parseSelect('data.nope.x'))).toBeUndefined();
    expect(mapObject(null, renames)).toBeNull();
  });

  it('reads own properties only', () => {
    expect(selectIn({}, parseSelect('constructor'))).toBeUndefined();
    expect(mapObject({}, [parseRename('x: __proto__')])).toEqual({ x: null });
  });

  it.each(['a', 'a: ', ': b', 'a.b: c', 'a: b..c', 'a: b c'])('refuses the map entry "%s"', (text) => {
    expect(() => parseRename(text)).toThrow(TemplateError);
  });
});
