/**
 * Internal errors are masked (code INTERNAL_SERVER_ERROR, no details) and logged with the
 * request id; bodies over the limit are refused before they are read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createGateway, type Gateway } from '../src/server.js';
import { configFrom, baseConfig } from './helpers/gateway.js';
import { ROOT } from './helpers/cli.js';
import { captureLogs } from './helpers/log-capture.js';

const { lines: logged, logger } = captureLogs();

let gw: Gateway;
beforeAll(async () => {
  const schema = makeExecutableSchema({
    typeDefs: 'type Query { boom: String, fine: String }',
    resolvers: {
      Query: {
        boom: () => {
          throw new Error('db password is hunter2 at /srv/app/secret.ts:12');
        },
        fine: () => 'ok',
      },
    },
  });
  const raw = baseConfig();
  raw.server.maxBodyBytes = 2048;
  gw = createGateway({ config: configFrom(raw), schema, projectRoot: ROOT, logger });
  await gw.listen(0, '127.0.0.1');
});
afterAll(() => gw.close());

describe('masking', () => {
  it('hides the message of an unexpected error and keeps the rest of the data', async () => {
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'mask-1' },
      body: JSON.stringify({ query: '{ boom fine }' }),
    });
    const body = (await res.json()) as any;
    expect(body.data).toEqual({ boom: null, fine: 'ok' });
    expect(body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(body)).not.toContain('hunter2');
    const entries = logged.filter((l) => l.requestId === 'mask-1' && l.level === 50);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.msg).toBe('internal error');
    expect(JSON.stringify(entries[0])).toContain('hunter2');
  });
});

describe('body limit on /graphql', () => {
  it('a declared oversize body gets 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ fine } # ${'x'.repeat(4000)}` }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a chunked oversize body is cut off at the limit too', async () => {
    const big = `{"query":"{ fine } # ${'x'.repeat(4000)}"}`;
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big.slice(0, 2000)));
        c.enqueue(new TextEncoder().encode(big.slice(2000)));
        c.close();
      },
    });
    const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});
