/**
 * The direct GraphQL path does part of yoga's HTTP layer itself (src/graphql/yoga-http-port.ts).
 * These tests tie that port to the yoga actually installed:
 * - the port names the yoga version it was checked against, and an upgrade fails here until
 *   someone re-reads yoga and updates the port;
 * - for a table of Accept headers and of results and errors, a gateway on the direct path and one
 *   on yoga's full path give the same status, media type and body, and the access log says which
 *   path answered (a case silently falling back to yoga cannot pass as a direct answer);
 * - a yoga plugin with a hook the direct path skips turns the direct path off for the gateway.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { YOGA_VERSION, directPathBlockers, reproducedByDirectPath } from '../../src/graphql/yoga-http-port.js';
import { applyDemoTargets, composeFor } from '../../src/assemble.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { FIXTURE_DIR, FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, startFixtureUpstreams, type FixtureUpstreams } from '../fixtures/domain/index.js';
import { configFrom, baseConfig, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { captureLogs } from '../helpers/log-capture.js';
import { rawRequest } from '../helpers/raw-http.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GQL = 'application/graphql-response+json';
const JSON_MEDIA = 'application/json';

it('the port was checked against the installed graphql-yoga', () => {
  const installed = JSON.parse(readFileSync(`${ROOT}node_modules/graphql-yoga/package.json`, 'utf8')) as { version: string };
  // A different version: re-read yoga's request parser, result processors, error.ts and server.ts
  // hooks against src/graphql/yoga-http-port.ts, then update YOGA_VERSION there.
  expect(installed.version).toBe(YOGA_VERSION);
});

const { lines, logger } = captureLogs();

interface Answer { status: number; type: string | undefined; body: unknown; path: string | undefined; prepared?: boolean }

let seq = 0;
async function ask(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const id = `yp-${process.pid}-${++seq}`;
  const r = await rawRequest(url, '/graphql', { method: 'POST', headers: { 'content-type': JSON_MEDIA, 'x-request-id': id, ...headers }, body });
  let parsed: unknown = r.body;
  try {
    parsed = JSON.parse(r.body);
  } catch {
    // compared as text (yoga's 406 has an empty body)
  }
  // The access line is written when the response closes.
  for (let i = 0; i < 50 && !lines.some((l) => l.type === 'access' && l.requestId === id); i++) await new Promise((res) => setTimeout(res, 5));
  const line = lines.find((l) => l.type === 'access' && l.requestId === id);
  // `prepared` is the direct path running a document text it has seen (direct-execution.ts).
  const prepared = line?.graphql === 'prepared';
  return { status: r.status, type: r.headers['content-type'] as string | undefined, body: parsed, path: prepared ? 'direct' : line?.graphql, prepared };
}

describe('the port decides as yoga does', () => {
  let demo: FixtureUpstreams;
  let direct: TestGateway;
  let full: TestGateway;
  const graphql = { maxDepth: 5, maxAliases: 5 };
  beforeAll(async () => {
    demo = await startFixtureUpstreams();
    direct = await startTestGateway({ demo, logger, configure: (c) => (c.graphql = { ...graphql }) });
    full = await startTestGateway({ demo, logger, configure: (c) => (c.graphql = { ...graphql, fastPath: false }) });
  });
  afterAll(async () => {
    await direct?.close();
    await full?.close();
    await demo?.close();
  });
  beforeEach(() => demo.reset());

  async function compare(body: unknown, headers: Record<string, string>, expectPath: 'direct' | 'yoga') {
    const raw = JSON.stringify(body);
    const a = await ask(direct.url, raw, headers);
    const b = await ask(full.url, raw, headers);
    expect(b.path).toBe('yoga');
    expect(a.path).toBe(expectPath);
    expect({ status: a.status, type: a.type, body: a.body }).toEqual({ status: b.status, type: b.type, body: b.body });
    return a;
  }

  // [Accept header (undefined: none sent), the path that must answer on the direct gateway]
  const accepts: Array<[string | undefined, 'direct' | 'yoga']> = [
    [undefined, 'direct'],
    ['', 'direct'],
    ['*/*', 'direct'],
    [JSON_MEDIA, 'direct'],
    [GQL, 'direct'],
    ['application/*', 'direct'],
    ['APPLICATION/JSON', 'direct'],
    [`${JSON_MEDIA};charset=utf-8`, 'direct'],
    [`${GQL}, ${JSON_MEDIA}`, 'direct'],
    [`${JSON_MEDIA}, ${GQL}`, 'direct'],
    [`${GQL};q=0.1, ${JSON_MEDIA};q=1`, 'direct'],
    [`text/html, ${GQL}, */*;q=0.8`, 'direct'],
    [`${JSON_MEDIA}; charset=iso-8859-1, ${GQL}`, 'direct'],
    ['text/event-stream', 'yoga'],
    ['multipart/mixed', 'yoga'],
    ['text/plain', 'yoga'],
    [`${JSON_MEDIA}; charset=iso-8859-1`, 'yoga'],
  ];
  // [name, body]: data, a request error (validation), a parse error, a request error with its own status (depth)
  const bodies: Array<[string, unknown]> = [
    ['data', { query: '{ user(id: "7") { id name } }' }],
    ['a validation error', { query: '{ user(id: "7") { nope } }' }],
    ['a syntax error', { query: '{ user(id: ' }],
    ['a depth rejection', { query: '{ user(id: "1") { orders { items { product { name } } } } }' }],
  ];
  for (const [accept, path] of accepts) {
    it(`Accept ${accept === undefined ? '(none)' : JSON.stringify(accept)} → ${path}`, async () => {
      const headers: Record<string, string> = accept === undefined ? {} : { accept };
      for (const [, body] of bodies) await compare(body, headers, path);
    });
  }

  it('the application/json and graphql-response+json status rules differ, and the port follows both', async () => {
    const invalid = { query: '{ user(id: "7") { nope } }' };
    expect((await compare(invalid, { accept: JSON_MEDIA }, 'direct')).status).toBe(200);
    expect((await compare(invalid, { accept: GQL }, 'direct')).status).toBe(400);
  });

  // Results and errors past validation, under both media types.
  const results: Array<[string, unknown, () => void]> = [
    ['a bad variable', { query: 'query($id: ID!) { user(id: $id) { name } }', variables: { id: { no: 1 } } }, () => {}],
    ['a missing operation name', { query: 'query A { __typename } query B { __typename }' }, () => {}],
    ['an unknown operation name', { query: 'query A { __typename }', operationName: 'B' }, () => {}],
    ['null data for an unknown id', { query: '{ user(id: "999999") { name } }' }, () => {}],
    ['partial data with an upstream error', { query: '{ user(id: "1") { name } product(id: "p1") { name } }' }, () => (demo.users.recorder.behaviour.failStatus = 500)],
    ['an alias rejection', { query: '{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }' }, () => {}],
  ];
  for (const [name, body, arrange] of results) {
    it(name, async () => {
      for (const accept of [JSON_MEDIA, GQL]) {
        demo.reset();
        arrange();
        await compare(body, { accept }, 'direct');
      }
    });
  }
});

describe('a yoga plugin with a hook the direct path skips turns it off', () => {
  let demo: FixtureUpstreams;
  const gateways: Gateway[] = [];
  beforeAll(async () => {
    demo = await startFixtureUpstreams();
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    await demo?.close();
  });

  /** A gateway over the fixture domain with extra yoga plugins, the way assembleGateway builds one. */
  async function gatewayWith(yogaPlugins: YogaPlugin[]): Promise<{ url: string; startup: Record<string, any> }> {
    const config = applyDemoTargets(configFrom(baseConfig()), demo.targets);
    const composed = await composeFor(config, { schemaDir: FIXTURE_SCHEMA_DIR, resolversDir: FIXTURE_RESOLVERS_DIR });
    const before = lines.length;
    const gateway = createGateway({ config, schema: composed.schema, projectRoot: FIXTURE_DIR, logger, yogaPlugins });
    gateways.push(gateway);
    const startup = lines.slice(before).filter((l) => l.msg === 'graphql path');
    expect(startup).toHaveLength(1);
    await gateway.listen(0, '127.0.0.1');
    return { url: gateway.url, startup: startup[0]! };
  }

  const query = JSON.stringify({ query: '{ user(id: "3") { name } }' });

  it('onResultProcess: every request goes through yoga, and the hook runs', async () => {
    const marking: YogaPlugin = {
      onResultProcess({ result, setResult }) {
        setResult({ ...(result as object), extensions: { processedBy: 'extra plugin' } } as never);
      },
    };
    const { url, startup } = await gatewayWith([marking]);
    expect(startup).toMatchObject({ graphqlPath: 'yoga' });
    expect(startup.blockers.join('\n')).toContain('onResultProcess');
    for (const accept of [JSON_MEDIA, GQL]) {
      const a = await ask(url, query, { accept });
      expect(a.path).toBe('yoga');
      expect(a.body).toMatchObject({ data: { user: { name: expect.any(String) } }, extensions: { processedBy: 'extra plugin' } });
    }
  });

  it('a hook added by a plugin at init (onPluginInit → onResponse) counts too', async () => {
    const adding: YogaPlugin = {
      onPluginInit({ addPlugin }) {
        addPlugin({
          onResponse({ response }) {
            response.headers.set('x-seen-by', 'added plugin');
          },
        });
      },
    };
    const { url, startup } = await gatewayWith([adding]);
    expect(startup).toMatchObject({ graphqlPath: 'yoga' });
    expect(startup.blockers.join('\n')).toContain('onResponse');
    const r = await rawRequest(url, '/graphql', { method: 'POST', headers: { 'content-type': JSON_MEDIA }, body: query });
    expect(r.headers['x-seen-by']).toBe('added plugin');
  });

  it('envelop-only plugins keep the direct path, and their hooks run on it', async () => {
    let executed = 0;
    const counting: YogaPlugin = {
      onExecute() {
        executed++;
      },
    };
    const { url, startup } = await gatewayWith([counting]);
    expect(startup).toMatchObject({ graphqlPath: 'direct' });
    const a = await ask(url, query, { accept: GQL });
    expect(a.path).toBe('direct');
    expect(a.status).toBe(200);
    expect(executed).toBe(1);
    // The same text again runs without envelop (prepared execution): the plugin's hook still runs.
    const b = await ask(url, query, { accept: GQL });
    expect(b.prepared).toBe(true);
    expect(b.body).toEqual(a.body);
    expect(executed).toBe(2);
  });
});

describe('directPathBlockers', () => {
  const noop = () => {};
  it('names each skipped hook, yoga-level instrumentation included, and not the envelop phases the direct path runs', () => {
    expect(directPathBlockers([{ onParse: noop, onValidate: noop, onExecute: noop, onContextBuilding: noop, instrumentation: { parse: noop, execute: noop } }])).toEqual([]);
    const out = directPathBlockers([{ onExecute: noop }, { onParams: noop, instrumentation: { operation: noop } }]);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('#1');
    expect(out[0]).toContain('onParams');
    expect(out[0]).toContain('instrumentation.operation');
  });

  it('passes a plugin registered as reproduced by the direct path, and only that object', () => {
    const registered = reproducedByDirectPath({ onResponse: noop }, 'a test says so');
    expect(directPathBlockers([registered])).toEqual([]);
    expect(directPathBlockers([{ ...registered }])[0]).toContain('onResponse');
  });
});
