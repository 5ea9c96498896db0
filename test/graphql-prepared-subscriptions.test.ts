/**
 * Prepared execution and subscriptions (src/graphql/fast-path.ts): a document that declares a
 * subscription is prepared like any other, but a request that selects its subscription operation
 * must still reach yoga (event stream), even once the document text is cached, while a request
 * for a query of the same document runs prepared. Each answer is compared with a gateway on
 * yoga's full path. Fixture domain of its own (written to a temporary folder): one query and
 * one subscription, no upstream.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/index.js';
import { configFrom } from './helpers/gateway.js';
import { captureLogs } from './helpers/log-capture.js';

const SCHEMA = `
type Query { hello: String! }
type Subscription { ticks(count: Int!): Int! }
`;

// A plain ES module: the resolver map only, no upstreams or loaders.
const RESOLVERS = `
export default {
  resolvers: {
    Query: { hello: () => 'hi' },
    Subscription: {
      ticks: {
        subscribe: async function* (_parent, { count }) {
          for (let i = 1; i <= count; i++) yield { ticks: i };
        },
      },
    },
  },
};
`;

const DOCUMENT = 'query Q { hello } subscription S { ticks(count: 3) }';

const { lines, logger } = captureLogs();
let dir: string;
let direct: RunningGateway;
let full: RunningGateway;

async function start(fastPath: boolean): Promise<RunningGateway> {
  const config = configFrom({
    server: { port: 0, host: '127.0.0.1', drainMs: 500, drainGraceMs: 0 },
    logging: { level: 'info' },
    upstreams: {},
    graphql: { fastPath },
  });
  return startGateway({ config, schemaDir: join(dir, 'schema'), resolversDir: join(dir, 'resolvers'), port: 0, host: '127.0.0.1', logger });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gw-prepared-subs-'));
  mkdirSync(join(dir, 'schema'));
  mkdirSync(join(dir, 'resolvers'));
  writeFileSync(join(dir, 'schema', 'ticks.graphql'), SCHEMA);
  writeFileSync(join(dir, 'resolvers', 'ticks.mjs'), RESOLVERS);
  direct = await start(true);
  full = await start(false);
});

afterAll(async () => {
  await direct?.close();
  await full?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer { status: number; type: string | null; text: string; path: unknown }

async function ask(gw: RunningGateway, operationName: string, accept: string, query = DOCUMENT): Promise<Answer> {
  const id = `ps-${Math.random().toString(36).slice(2)}`;
  const r = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, 'x-request-id': id },
    body: JSON.stringify({ query, operationName }),
  });
  const text = await r.text();
  await new Promise((res) => setTimeout(res, 5));
  const line = lines.find((l) => l.type === 'access' && l.requestId === id);
  return { status: r.status, type: r.headers.get('content-type'), text, path: line?.graphql };
}

/** The `data` payloads of an event stream, in order. */
const events = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).trim())
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as unknown);

describe('a document with a subscription on the prepared path', () => {
  it('its query runs prepared once the document is known, with the same answer as yoga', async () => {
    const json = 'application/graphql-response+json';
    const runs = [await ask(direct, 'Q', json), await ask(direct, 'Q', json), await ask(direct, 'Q', json)];
    const reference = await ask(full, 'Q', json);
    expect(runs.map((r) => r.path)).toEqual(['direct', 'prepared', 'prepared']);
    for (const r of runs) expect({ status: r.status, body: JSON.parse(r.text) }).toEqual({ status: reference.status, body: JSON.parse(reference.text) });
    expect(JSON.parse(runs[2]!.text)).toEqual({ data: { hello: 'hi' } });
  });

  it('its subscription, asked after the document is prepared, streams from yoga every time', async () => {
    // The query above prepared this document text; the subscription must not be executed as one.
    await ask(direct, 'Q', 'application/json');
    for (let i = 0; i < 2; i++) {
      const r = await ask(direct, 'S', 'text/event-stream');
      expect(r.status).toBe(200);
      expect(r.type).toContain('text/event-stream');
      expect(events(r.text)).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }, { data: { ticks: 3 } }]);
      expect(r.path).not.toBe('prepared');
      expect(r.path).not.toBe('direct');
    }
    const reference = await ask(full, 'S', 'text/event-stream');
    expect(events(reference.text)).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }, { data: { ticks: 3 } }]);
  });

  it('its subscription asked for as plain JSON gets the same answer as on yoga, prepared or not', async () => {
    await ask(direct, 'Q', 'application/json');
    const reference = await ask(full, 'S', 'application/json');
    const r = await ask(direct, 'S', 'application/json');
    expect(r.path).not.toBe('prepared');
    expect({ status: r.status, body: r.text }).toEqual({ status: reference.status, body: reference.text });
    // A document text never seen before, whose first request is the subscription.
    const fresh = await ask(direct, 'S', 'application/json', `${DOCUMENT} `);
    expect(fresh.path).not.toBe('direct');
    expect({ status: fresh.status, body: fresh.text }).toEqual({ status: reference.status, body: reference.text });
  });
});
