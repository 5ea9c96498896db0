/**
 * Issue #16, caches a client fills: large documents (a valid operation padded by a comment,
 * so few tokens) must not stay in yoga's parse/validation caches nor in the direct path's, nor
 * in the APQ store. Measured as heap growth after a forced collection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createHash } from 'node:crypto';
import { startWidgetsGateway, type WidgetsGateway } from './helpers/graphql-documents.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const COUNT = 30;
const BIG = 900 * 1024;
const MiB = 1024 * 1024;

function bigDocument(i: number): string {
  const head = `{ widget(id: "${i}") { label } } # `;
  return head + String(i % 10).repeat(BIG - head.length);
}

async function heapAfter(run: () => Promise<void>): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  await run();
  await new Promise((r) => setTimeout(r, 50));
  gc();
  return process.memoryUsage().heapUsed - before;
}

describe.each([
  ['direct path', { fastPath: true }, false],
  ['yoga path', { fastPath: false }, false],
  ['APQ registration', { persistedOperations: {} }, true],
] as const)('large documents on the %s', (_name, graphql, asApq) => {
  let gw: WidgetsGateway;
  beforeAll(async () => {
    gw = await startWidgetsGateway(graphql, { server: { port: 0, host: '127.0.0.1', drainMs: 500, maxBodyBytes: 2 * MiB } });
  });
  afterAll(() => gw?.close());

  it(`keeps no copy of ${COUNT} distinct 900 KB documents`, async () => {
    const grown = await heapAfter(async () => {
      for (let i = 0; i < COUNT; i++) {
        const query = bigDocument(i);
        const extensions = asApq ? { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } } : undefined;
        const r = await gw.post({ query, extensions });
        expect(r.status).toBe(200);
        expect(r.body.data.widget.label).toBe(`widget ${i}`);
      }
    });
    // Kept, they would be at least COUNT × 900 KB (27 MB) of text alone.
    expect(grown).toBeLessThan(12 * MiB);
  });
});
