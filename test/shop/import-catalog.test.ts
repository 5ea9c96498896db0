/**
 * `gateway import proto` over the shop's own catalog proto (CONTRACT §3): what a team would start
 * from to bind `Query.product` without code.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DocumentNode } from 'graphql';
import { ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { argTypes, bindingProblems, directiveArgs, field, fieldNames, fieldTypes, parseSdl, typeOf } from '../helpers/sdl-ast.js';

describe('gateway import proto upstreams/catalog/catalog.proto', () => {
  let r: CliResult;
  let doc: DocumentNode;
  beforeAll(async () => {
    r = await runCli(['import', 'proto', join(ROOT, 'upstreams/catalog/catalog.proto')], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    doc = parseSdl(r.stdout);
  }, 90_000);

  it('GetProducts is a Query field bound to the catalog upstream, ids passed in the request', () => {
    expect(fieldNames(doc, 'Query')).toEqual(['getProducts']);
    const f = field(doc, 'Query', 'getProducts');
    expect(argTypes(f)).toEqual({ ids: '[String!]' });
    expect(typeOf(f)).toBe('GetProductsResponse');
    expect(directiveArgs(f, 'grpc')).toEqual({ upstream: 'catalog', method: 'GetProducts', request: '{ "ids": "$args.ids" }' });
  });

  it('Product has the proto fields in camelCase, price_cents (int64) as String', () => {
    expect(fieldTypes(doc, 'GetProductsResponse')).toEqual({ products: '[Product!]!' });
    expect(fieldTypes(doc, 'Product')).toEqual({ id: 'String!', name: 'String!', priceCents: 'String!', inStock: 'Boolean!' });
  });

  it('the batch endpoint is hinted in a comment: REQUEST_FIELD ids, matched on id, selecting products', () => {
    expect(r.stdout).toContain('# batch: { form: REQUEST_FIELD, param: "ids", key: "$args.ids", matchOn: "id" }, select: "products"');
    expect(bindingProblems(r.stdout)).toEqual([]);
    expect(bindingProblems(r.stdout, { uncommentHints: true })).toEqual([]);
  });
});
