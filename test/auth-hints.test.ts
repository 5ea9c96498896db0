/**
 * Issue #19: a refusal says what would have worked. A field that needs an identity names the
 * credential to send, or says that this gateway has no auth configured; credentials no configured
 * auth kind verifies are never silently ignored (the refusal says so, and one warn line a minute
 * is logged); a role no configured auth kind can give is named at start-up and in the refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema, graphql } from 'graphql';
import { mint } from './helpers/jwks.js';
import { baseConfig, configFrom, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { captureLogs, type CapturedLogs } from './helpers/log-capture.js';
import { applyFieldAuthorization } from '../src/auth/field-authorization.js';
import { identitySources } from '../src/auth/identity-sources.js';

import { RequestContext } from '../src/context.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

const SECRET = 'a-test-secret-of-reasonable-length-0123456789';
const CREATE = 'mutation { createOrder(input: { items: [{ productId: "p1", quantity: 1 }] }) { id } }';

describe('no auth configured', () => {
  let gw: TestGateway;
  let logs: CapturedLogs;
  beforeAll(async () => {
    logs = captureLogs('warn');
    gw = await startTestGateway({ logger: logs.logger });
  });
  afterAll(() => gw.close());

  it('a protected field says the gateway has no auth configured', async () => {
    const r = await gw.gql(CREATE);
    expect(r.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(r.body.errors![0]!.message).toBe(
      'Mutation.createOrder needs a verified identity, but this gateway has no auth configured (auth.jwt / auth.apiKeys)',
    );
  });

  it('a bearer token is not silently ignored: the refusal says so, and one warn line is logged', async () => {
    const before = logs.lines.length;
    const token = await mint({ sub: '42' }, SECRET, { expiresIn: '5m' });
    const r = await gw.gql(CREATE, undefined, { authorization: `Bearer ${token}` });
    expect(r.body.errors![0]!.message).toMatch(/has no auth configured \(auth\.jwt \/ auth\.apiKeys\): the credentials this request sent were ignored$/);
    await gw.gql('{ me { id } }', undefined, { authorization: `Bearer ${token}` });
    const warned = logs.lines.slice(before).filter((l) => /Authorization header was ignored/.test(l.msg));
    // At most one line a minute: the second request adds none.
    expect(warned).toHaveLength(1);
    expect(warned[0]!.level).toBe(40);
    expect(warned[0]!.msg).toMatch(/no auth\.jwt configured/);
    expect(typeof warned[0]!.requestId).toBe('string');
    expect(gw.demo.orders.recorder.callsTo('/orders', 'POST')).toHaveLength(0);
  });

  it('the start-up log names the fields no caller can reach', () => {
    const line = logs.lines.find((l) => /can never resolve with this auth config/.test(l.msg));
    expect(line).toBeDefined();
    expect(line!.fields).toEqual(expect.arrayContaining([expect.stringMatching(/^Mutation\.createOrder: needs a verified identity and no auth is configured/)]));
  });
});

describe('JWT configured, no API keys', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ configure: (c) => (c.auth = { jwt: { algorithms: ['HS256'], secret: SECRET } }) });
  });
  afterAll(() => gw.close());

  it('an anonymous caller is told to send a bearer token', async () => {
    const r = await gw.gql(CREATE);
    expect(r.body.errors![0]!.message).toBe('Mutation.createOrder needs a verified identity: send a bearer token (Authorization: Bearer <token>)');
  });

  it('an API key is named as ignored', async () => {
    const r = await gw.gql(CREATE, undefined, { 'x-api-key': 'k' });
    expect(r.body.errors![0]!.message).toMatch(/send a bearer token .*; the API key this request sent was ignored: auth\.apiKeys is not configured$/);
  });

  it('with the token the mutation runs', async () => {
    const token = await mint({ sub: '42' }, SECRET, { expiresIn: '5m' });
    const r = await gw.gql(CREATE, undefined, { authorization: `Bearer ${token}` });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.createOrder.id).toBeTruthy();
  });
});

describe('API keys configured, no JWT', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ configure: (c) => (c.auth = { apiKeys: { header: 'X-Partner-Key', keys: [{ key: 'k-1', owner: 'p', roles: ['partner'] }] } }) });
  });
  afterAll(() => gw.close());

  it('a bearer token is named as ignored, and the API key header is named', async () => {
    const r = await gw.gql(CREATE, undefined, { authorization: 'Bearer abc.def.ghi' });
    expect(r.body.errors![0]!.message).toBe(
      'Mutation.createOrder needs a verified identity: send an API key (X-Partner-Key); the Authorization header this request sent was ignored: auth.jwt is not configured',
    );
  });
});

describe('a role no configured auth kind can give', () => {
  const sdl = `
    directive @requiresRole(roles: [String!]!) on FIELD_DEFINITION | OBJECT
    type Query { open: String  audit: String @requiresRole(roles: ["auditor"])  partnerOnly: String @requiresRole(roles: ["partner"]) }`;
  const config = configFrom({ ...baseConfig(), auth: { apiKeys: { keys: [{ key: 'k-1', owner: 'p', roles: ['partner'] }] } } });

  it('is reported as unreachable at start-up and named in the refusal', async () => {
    const { schema, unreachable } = applyFieldAuthorization(buildSchema(sdl), identitySources(config.auth));
    expect(unreachable.map((u) => u.coordinate)).toEqual(['Query.audit']);
    const gw = new RequestContext({ headers: {}, method: 'POST', url: '/graphql' } as IncomingMessage, {} as ServerResponse, 0);
    gw.identity = { kind: 'apiKey', subject: 'p', roles: ['partner'], clientId: 'p', claims: undefined };
    const r = await graphql({ schema, source: '{ audit partnerOnly }', rootValue: { audit: 'x', partnerOnly: 'y' }, contextValue: { gw } });
    expect(r.data).toEqual({ audit: null, partnerOnly: 'y' });
    expect(r.errors![0]!.message).toBe('Query.audit needs one of the roles: auditor, which no configured auth kind can give (no API key holds one and auth.jwt is not configured)');
  });

  it('with JWT configured any role is reachable', () => {
    const withJwt = configFrom({ ...baseConfig(), auth: { jwt: { algorithms: ['HS256'], secret: SECRET } } });
    expect(applyFieldAuthorization(buildSchema(sdl), identitySources(withJwt.auth)).unreachable).toEqual([]);
  });
});
