/**
 * Chaos: the flapping target. An upstream with two targets, retries, health checks and a breaker
 * (the settings of the fault-injection run that found the upstream-wide breaker opening for the
 * healthy target too); under steady concurrent load one target is killed and restarted three
 * times. Clients may see at most a handful of 5xx, the healthy target keeps serving, and the
 * upstream's circuit never opens.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, expect, it } from 'vitest';
import { startHttpUpstream, type DemoHttpServer } from './fixtures/domain/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { parseSamples } from './helpers/prom-text.js';

const open: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  while (open.length) await open.pop()!.close();
});

const ok = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('one of two targets killed and restarted three times under load: at most a handful of client 5xx', async () => {
  const a = await startHttpUpstream(ok);
  open.push(a);
  let b: DemoHttpServer | undefined = await startHttpUpstream(ok);
  const bPort = b.port;
  const gw: TestGateway = await startTestGateway({
    configure(c) {
      c.upstreams.pool = {
        protocol: 'http',
        targets: [{ url: a.url }, { url: b!.url }],
        timeoutMs: 1000,
        retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 },
        healthCheck: { path: '/health', intervalMs: 100, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 2 },
        circuitBreaker: { failureThreshold: 5, openMs: 300, successThreshold: 2 },
      };
      c.routes = [{ name: 'pool', match: { pathPrefix: '/pool' }, upstream: 'pool', rewrite: { stripPrefix: '/pool' } }];
    },
  });
  open.push(gw);

  const counts = new Map<number, number>();
  let stop = false;
  const worker = async () => {
    while (!stop) {
      let status = 0;
      try {
        const r = await fetch(`${gw.url}/pool/echo/x`);
        await r.arrayBuffer();
        status = r.status;
      } catch {
        status = -1; // the gateway itself failed to answer
      }
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
  };
  const workers = Array.from({ length: 6 }, worker);

  for (let round = 0; round < 3; round++) {
    await sleep(400);
    await b!.close(); // killed: connections reset, new ones refused
    b = undefined;
    await sleep(500);
    b = await startHttpUpstream(ok, bPort); // back on the same address
  }
  await sleep(600);
  stop = true;
  await Promise.all(workers);
  await b?.close();

  const total = [...counts.values()].reduce((x, y) => x + y, 0);
  const failed = [...counts.entries()].filter(([s]) => s >= 500 || s < 0).reduce((x, [, n]) => x + n, 0);
  expect(total).toBeGreaterThan(300);
  expect(failed, `statuses: ${JSON.stringify([...counts])}`).toBeLessThanOrEqual(5);
  expect(counts.get(-1) ?? 0).toBe(0);

  const samples = parseSamples(await (await fetch(`${gw.url}/metrics`)).text());
  const refused = samples.filter((s) => s.name === 'gateway_upstream_refused_total' && s.labels.upstream === 'pool').reduce((x, s) => x + s.value, 0);
  expect(refused).toBe(0);
  // The healthy target was never ejected.
  const aEjections = samples.find((s) => s.name === 'gateway_upstream_target_ejections_total' && s.labels.target === a.url)?.value ?? 0;
  expect(aEjections).toBe(0);
});
