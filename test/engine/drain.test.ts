/**
 * Drain without resets: after close() begins (what SIGTERM calls), answers carry
 * `Connection: close` (in-flight ones too) and idle keep-alive sockets stay open while requests
 * are in flight and for `drainGraceMs` after, so a request a client sends on an idle socket right
 * after the signal is answered instead of meeting ECONNRESET.
 */
import { Agent, request } from 'node:http';
import { expect, it } from 'vitest';
import { startTestGateway } from '../helpers/gateway.js';

interface Answer {
  status: number;
  connection: string | undefined;
}

function get(agent: Agent, url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('requests on idle keep-alive sockets right after the signal are answered with Connection: close, none reset', async () => {
  const gw = await startTestGateway({
    configure(c) {
      c.server.drainGraceMs = 300;
      c.routes = [{ name: 'echo', match: { pathPrefix: '/api' }, upstream: 'orders', rewrite: { stripPrefix: '/api' } }];
    },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  try {
    // Eight keep-alive sockets, each answered once and now idle in the agent's pool.
    const warm = await Promise.all(Array.from({ length: 8 }, () => get(agent, `${gw.url}/api/echo/warm`)));
    expect(warm.every((a) => a.status === 200 && a.connection === 'keep-alive')).toBe(true);
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(8);

    // One request in flight when the drain starts.
    gw.demo.orders.recorder.behaviour.delayMs = 200;
    const inFlight = get(agent, `${gw.url}/api/echo/slow`);
    await new Promise((r) => setTimeout(r, 50));
    gw.demo.orders.recorder.behaviour.delayMs = 0;

    const closing = gw.close();
    // Sent on the idle sockets just after the drain began.
    const late = await Promise.allSettled(Array.from({ length: 7 }, () => get(agent, `${gw.url}/api/echo/late`)));
    const slow = await inFlight;
    await closing;

    const failures = late.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    for (const r of late) {
      const a = (r as PromiseFulfilledResult<Answer>).value;
      expect(a.status).toBe(200);
      expect(a.connection).toBe('close');
    }
    expect(slow.status).toBe(200);
    expect(slow.connection).toBe('close');
  } finally {
    agent.destroy();
  }
});
