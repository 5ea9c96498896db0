/**
 * Issue #16, GraphQL documents: introspection inside the limits, token and directive bombs
 * refused before validation, field suggestions hidden when introspection is off, and CSRF
 * ("simple" cross-site requests never execute). Each table runs on the direct path
 * (graphql.fastPath) and on yoga's path; the widgets upstream records every call it gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getIntrospectionQuery } from 'graphql';
import { startWidgetsGateway, type WidgetsGateway } from './helpers/graphql-documents.js';

const PATHS = [
  ['direct path', { fastPath: true }],
  ['yoga path', { fastPath: false }],
] as const;

/** A real field next to the bomb: if the operation ran, the upstream would see GET /widgets/1. */
const REAL = 'w: widget(id: "1") { label }';
const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(' ');

describe.each(PATHS)('GraphQL documents on the %s', (_name, pathOptions) => {
  let gw: WidgetsGateway;
  beforeAll(async () => {
    gw = await startWidgetsGateway({ ...pathOptions });
  });
  afterAll(() => gw?.close());

  const introspectionVariants: Array<[string, Parameters<typeof getIntrospectionQuery>[0]]> = [
    ['defaults', {}],
    ['GraphiQL options', { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true }],
    ['every option', { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }],
  ];
  it.each(introspectionVariants)('answers getIntrospectionQuery (%s) with the shipped limits', async (_label, options) => {
    const r = await gw.post({ query: getIntrospectionQuery(options), operationName: 'IntrospectionQuery' });
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    const names = r.body.data.__schema.types.map((t: { name: string }) => t.name);
    expect(names).toContain('Widget');
  });

  const introspectionBombs: Array<[string, string, string]> = [
    ['aliased __schema', `{ ${REAL} ${many(3, (i) => `s${i}: __schema { types { name fields { name } } }`)} }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['aliased __type', `{ ${REAL} ${many(5, (i) => `t${i}: __type(name: "Widget") { fields { name } }`)} }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['__schema and two __type', `{ ${REAL} __schema { queryType { name } } a: __type(name: "Query") { name } b: __type(name: "Widget") { name } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['a __schema fragment spread three times', `query { ${REAL} ...S ...S ...S } fragment S on Query { __schema { types { name } } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['nested fragments with __type', `query { ${REAL} ...A } fragment A on Query { ...B ...B ...B } fragment B on Query { __type(name: "Widget") { name } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['an aliased list inside __schema', `{ ${REAL} __schema { types { a: fields { name } b: fields { name } } } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['an aliased list in a __Type fragment', `query { ${REAL} __schema { types { ...T } } } fragment T on __Type { x: fields { name } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['an aliased types list', `{ ${REAL} __schema { all: types { name } } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['lists nested four deep', `{ ${REAL} __schema { types { fields { type { fields { args { name } } } } } } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['lists nested through ofType', `{ ${REAL} __schema { types { interfaces { fields { args { name } } } } } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['lists nested through a __type root', `{ ${REAL} __type(name: "Widget") { fields { type { ofType { fields { type { fields { args { name } } } } } } } } }`, 'INTROSPECTION_TOO_COMPLEX'],
    ['aliased scalars inside introspection', `{ ${REAL} __schema { types { ${many(31, (i) => `n${i}: name`)} } } }`, 'TOO_MANY_ALIASES'],
  ];
  it.each(introspectionBombs)('refuses %s with 400 before execution', async (_label, query, code) => {
    const before = gw.upstream.calls.length;
    const r = await gw.post({ query });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].extensions.code).toBe(code);
    expect(r.body.data).toBeUndefined();
    expect(gw.upstream.calls.length).toBe(before);
    expect(r.ms).toBeLessThan(1000);
  });

  it('still runs one __schema and one __type next to a real field', async () => {
    const before = gw.upstream.calls.length;
    const r = await gw.post({ query: `{ ${REAL} __schema { types { name } } __type(name: "Widget") { name } }` });
    expect(r.status).toBe(200);
    expect(r.body.data.__type.name).toBe('Widget');
    expect(gw.upstream.calls.slice(before)).toEqual(['GET /widgets/1']);
  });

  const tokenAndDirectiveBombs: Array<[string, () => string, string]> = [
    ['20k __typename tokens', () => `{ ${REAL} ${'__typename '.repeat(20_000)} }`, 'GRAPHQL_PARSE_FAILED'],
    ['480k tokens of punctuation', () => `{ ${REAL} ${'__typename '.repeat(10)} } ${'{ } '.repeat(120_000)}`, 'GRAPHQL_PARSE_FAILED'],
    ['10k variables', () => `query(${many(10_000, (i) => `$v${i}: Int`)}) { ${REAL} }`, 'GRAPHQL_PARSE_FAILED'],
    ['50k directives', () => `{ widget(id: "1") ${'@include(if: true) '.repeat(50_000)} { label } }`, 'GRAPHQL_PARSE_FAILED'],
    ['51 directives on one field', () => `{ widget(id: "1") ${'@include(if: true) '.repeat(51)} { label } }`, 'TOO_MANY_DIRECTIVES'],
    ['directives on the operation and spreads', () => `query Q ${'@skip(if: false) '.repeat(20)} { ${REAL} ...F ${'@include(if: true) '.repeat(20)} } fragment F on Query ${'@skip(if: false) '.repeat(11)} { __typename }`, 'TOO_MANY_DIRECTIVES'],
    ['a directive fragment spread many times', () => `query { ${REAL} ${many(30, (i) => `a${i}: widget(id: "${i}") { ...F }`)} } fragment F on Widget { label @include(if: true) @skip(if: false) }`, 'TOO_MANY_DIRECTIVES'],
    ['directives in inline fragments', () => `{ ${REAL} ${many(26, () => '... @include(if: true) @skip(if: false) { __typename }')} }`, 'TOO_MANY_DIRECTIVES'],
  ];
  it.each(tokenAndDirectiveBombs)('refuses %s with 400 in under a second', async (_label, make, code) => {
    const before = gw.upstream.calls.length;
    const r = await gw.post({ query: make() });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].extensions.code).toBe(code);
    expect(gw.upstream.calls.length).toBe(before);
    expect(r.ms).toBeLessThan(1000);
  });

  it('runs 50 directives (the limit) and a long honest operation', async () => {
    const fifty = await gw.post({ query: `{ ${many(25, (i) => `a${i}: widget(id: "${i}") @include(if: true) @skip(if: false) { label }`)} }` });
    expect(fifty.status).toBe(200);
    expect(fifty.body.data.a3.label).toBe('widget 3');
    const long = await gw.post({ query: `{ ${many(25, (i) => `a${i}: widget(id: "${i}") { id label shade }`)} }` });
    expect(long.status).toBe(200);
    expect(long.body.data.a24.label).toBe('widget 24');
  });
});

describe.each(PATHS)('field suggestions on the %s', (_name, pathOptions) => {
  let open: WidgetsGateway;
  let closed: WidgetsGateway;
  beforeAll(async () => {
    [open, closed] = await Promise.all([
      startWidgetsGateway({ ...pathOptions, introspection: true }),
      startWidgetsGateway({ ...pathOptions, introspection: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.close(), closed?.close()]);
  });

  const typos: Array<[string, { query: string; variables?: Record<string, unknown> }, string]> = [
    ['a field', { query: '{ widgt(id: "1") { label } }' }, 'widget'],
    ['a nested field', { query: '{ widget(id: "1") { labl } }' }, 'label'],
    ['an argument', { query: '{ widget(idd: "1") { label } }' }, 'id'],
    ['a type in a fragment', { query: '{ ...F } fragment F on Widgit { id }' }, 'Widget'],
    ['a variable type', { query: 'query($s: Shad!) { widgetsByShade(shade: $s) { id } }', variables: { s: 'LIGHT' } }, 'Shade'],
    ['an enum literal', { query: '{ widgetsByShade(shade: LIGTH) { id } }' }, 'LIGHT'],
  ];
  it.each(typos)('hides the suggestion for %s only when introspection is off', async (_label, body, hint) => {
    const on = await open.post(body);
    const onMessages = on.body.errors.map((e: { message: string }) => e.message).join('\n');
    expect(onMessages).toMatch(new RegExp(`Did you mean [^\\n]*"${hint}"`));
    const off = await closed.post(body);
    expect(off.body.errors.length).toBeGreaterThan(0);
    const offMessages = off.body.errors.map((e: { message: string }) => e.message).join('\n');
    expect(offMessages).not.toContain('Did you mean');
    expect(offMessages).not.toMatch(/Did you mean|\?$/m);
    expect(closed.upstream.calls).toEqual([]);
  });
});
