/**
 * A proxied call's deadline (`routes[].timeoutMs`) bounds the wait for the response head and,
 * once the body streams, each pause between chunks: a long download that keeps flowing is not
 * cut, a body that stalls longer than the budget is.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    configure(c) {
      c.routes = [{ name: 'files', match: { pathPrefix: '/files' }, upstream: 'users', rewrite: { stripPrefix: '/files' }, timeoutMs: 400 }];
    },
  });
});
afterAll(() => gw.close());

async function download(query: string): Promise<{ status: number; bytes: number; error: unknown }> {
  const res = await request(`${gw.url}/files/download?${query}`);
  let bytes = 0;
  try {
    for await (const c of res.body) bytes += (c as Buffer).length;
    return { status: res.statusCode, bytes, error: undefined };
  } catch (error) {
    return { status: res.statusCode, bytes, error };
  }
}

it('a body that keeps flowing completes even when the whole transfer outlasts the budget', async () => {
  const t0 = Date.now();
  const r = await download(`bytes=${16 * 1024 * 8}&chunkMs=100`); // 8 chunks, ~800 ms in all
  expect(Date.now() - t0).toBeGreaterThan(600);
  expect(r.error).toBeUndefined();
  expect(r.status).toBe(200);
  expect(r.bytes).toBe(16 * 1024 * 8);
});

it('a body that pauses longer than the budget is cut, not left hanging', async () => {
  const t0 = Date.now();
  const r = await download(`bytes=${16 * 1024 * 3}&chunkMs=1500`); // the first pause is 1.5 s
  expect(r.status).toBe(200); // the head arrived in time
  expect(r.error).toBeDefined(); // the body ends early, so the client sees an incomplete response
  expect(r.bytes).toBeLessThan(16 * 1024 * 3);
  expect(Date.now() - t0).toBeLessThan(1400);
});

it('an upstream whose head does not arrive within the budget is a 504', async () => {
  gw.demo.users.recorder.behaviour.delayMs = 1500;
  try {
    const t0 = Date.now();
    const r = await download('bytes=1024');
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(1300);
  } finally {
    gw.demo.reset();
  }
});
