/**
 * Upstream faults are classified, and what the client reads names the upstream and the class,
 * never an upstream's body or gRPC details (those go to the log, with the request id):
 * - connection refused / no target / open circuit → UPSTREAM_UNAVAILABLE
 * - a timeout, ours or the upstream's own → UPSTREAM_TIMEOUT (the message says which)
 * - an answer we cannot read, or an upstream error → UPSTREAM_ERROR
 * Deadlines are kept within 50 ms, for HTTP and gRPC alike.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureUpstreams, type FixtureUpstreams } from '../fixtures/domain/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { captureLogs } from '../helpers/log-capture.js';

/** The users upstream's answer for the next calls. */
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('[]');
const users = createServer((req, res) => answer(req, res));
let fixture: FixtureUpstreams;
let gw: TestGateway;
const logs = captureLogs('info');

beforeAll(async () => {
  await new Promise<void>((r) => users.listen(0, '127.0.0.1', () => r()));
  fixture = await startFixtureUpstreams();
  gw = await startTestGateway({
    logger: logs.logger,
    demo: { ...fixture, targets: { ...fixture.targets, users: `http://127.0.0.1:${(users.address() as AddressInfo).port}` } },
    configure(c) {
      c.upstreams.users.timeoutMs = 250;
      c.upstreams.users.maxResponseBytes = 64 * 1024;
      c.upstreams.catalog.timeoutMs = 500;
      c.routes = [
        { name: 't250', match: { pathPrefix: '/t250' }, upstream: 'users', timeoutMs: 250 },
        { name: 't500', match: { pathPrefix: '/t500' }, upstream: 'users', timeoutMs: 500 },
        { name: 't1000', match: { pathPrefix: '/t1000' }, upstream: 'users', timeoutMs: 1000 },
      ];
    },
  });
});
afterAll(async () => {
  await gw.close();
  await fixture.close();
  users.closeAllConnections();
  await new Promise<void>((r) => users.close(() => r()));
});

async function userField(): Promise<{ code: unknown; message: string; requestId: string | null; took: number }> {
  const started = Date.now();
  const r = await gw.gql('{ user(id: "1") { id } }');
  const err = r.body.errors?.[0];
  return { code: err?.extensions?.code, message: err?.message ?? '', requestId: r.headers.get('x-request-id'), took: Date.now() - started };
}

describe('an answer the gateway cannot read is UPSTREAM_ERROR, and its body stays in the log', () => {
  it('200 with an HTML page', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Internal proxy page: db=10.0.0.7</body></html>');
    };
    const e = await userField();
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).toMatch(/users/);
    expect(e.message).not.toMatch(/html|10\.0\.0\.7/i);
    const line = logs.lines.find((l) => l.requestId === e.requestId && l.msg === 'upstream answer not readable as JSON');
    expect(line?.body).toContain('10.0.0.7');
  });

  it('200 application/json whose body is not JSON', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "1", Traceback: secret.py line 7');
    };
    const e = await userField();
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).not.toMatch(/Traceback|secret/);
    expect(logs.lines.find((l) => l.requestId === e.requestId)?.parseError).toBeTruthy();
  });

  it('a 500 answer', async () => {
    answer = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"NullPointerException at Repo.java:42"}');
    };
    const e = await userField();
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).not.toMatch(/NullPointer/);
  });
});

describe('a GraphQL call reads its answer whole, bounded by maxResponseBytes', () => {
  it('a JSON answer in many chunks, a character split between two of them, is read whole', async () => {
    const name = 'Zoë 東京 '.repeat(500);
    const bytes = Buffer.from(JSON.stringify([{ id: '1', name, email: 'z@example.test' }]));
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // 7-byte pieces, so multi-byte characters are cut between chunks.
      let at = 0;
      const next = (): void => {
        if (at >= bytes.length) return void res.end();
        res.write(bytes.subarray(at, (at += 7)), next);
      };
      next();
    };
    const r = await gw.gql('{ user(id: "1") { id name } }');
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.user?.name).toBe(name);
  });

  it('an answer over maxResponseBytes fails the field with UPSTREAM_ERROR, and the next call still works', async () => {
    let calls = 0;
    answer = (_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ id: '1', name: 'x'.repeat(128 * 1024) }]));
    };
    const e = await userField();
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).toMatch(/users/);
    expect(calls).toBe(1);
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ id: '1', name: 'small' }]));
    };
    const r = await gw.gql('{ user(id: "1") { name } }');
    expect(r.body.data?.user?.name).toBe('small');
  });

  it('an error answer larger than the log keeps is read to its end; the log holds its first 2 KiB', async () => {
    answer = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('E'.repeat(1000) + 'F'.repeat(200 * 1024));
    };
    const e = await userField();
    expect(e.code).toBe('UPSTREAM_ERROR');
    const line = logs.lines.find((l) => l.requestId === e.requestId && l.msg === 'upstream error answer');
    expect(String(line?.body)).toHaveLength(2048);
    expect(String(line?.body).startsWith('E'.repeat(1000) + 'F')).toBe(true);
  });
});

describe('timeouts, ours or the upstream’s, are UPSTREAM_TIMEOUT', () => {
  it('the upstream answers 504 at once: its own timeout, said so', async () => {
    answer = (_req, res) => {
      res.writeHead(504);
      res.end('gateway timeout upstream of users');
    };
    const e = await userField();
    expect(e.code).toBe('UPSTREAM_TIMEOUT');
    expect(e.message).toMatch(/users reported a timeout/);
    expect(e.took).toBeLessThan(200);
  });

  it('gRPC DEADLINE_EXCEEDED long before our deadline is the upstream’s own, and its details stay out', async () => {
    fixture.catalog.recorder.behaviour = { delayMs: 0, failStatus: 4, drop: false, failHealth: false, failDetails: 'deadline in /srv/catalog/db.go:88' };
    try {
      const r = await gw.gql('{ product(id: "p1") { id } }');
      const err = r.body.errors?.[0];
      expect(err?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
      expect(err?.message).toMatch(/catalog reported a timeout/);
      expect(JSON.stringify(r.body)).not.toContain('/srv/catalog');
      const line = logs.lines.find((l) => l.requestId === r.headers.get('x-request-id') && l.msg === 'upstream gRPC error');
      expect(line?.details).toContain('/srv/catalog');
    } finally {
      fixture.catalog.recorder.reset();
    }
  });

  it('gRPC INTERNAL with details is UPSTREAM_ERROR without them', async () => {
    fixture.catalog.recorder.behaviour = { delayMs: 0, failStatus: 13, drop: false, failHealth: false, failDetails: 'open /etc/passwd: permission denied' };
    try {
      const r = await gw.gql('{ product(id: "p1") { id } }');
      expect(r.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
      expect(JSON.stringify(r.body)).not.toContain('passwd');
    } finally {
      fixture.catalog.recorder.reset();
    }
  });
});

describe('deadlines are kept within 50 ms', () => {
  it('HTTP (GraphQL field): timeoutMs 250 ends the call between 250 and 300 ms after it was sent', async () => {
    // Measured at the upstream, from the request's arrival to the gateway dropping it, so the
    // GraphQL work before the call does not count.
    const held: Array<Promise<number>> = [];
    answer = (req) => {
      const arrived = Date.now();
      held.push(new Promise((r) => req.socket.once('close', () => r(Date.now() - arrived))));
    };
    const e = await userField();
    expect(e.code).toBe('UPSTREAM_TIMEOUT');
    // The call gets what is left of the request's budget when it is made: 250 ms, or a few ms less
    // on a loaded machine.
    const said = Number(/timed out after (\d+)ms/.exec(e.message)?.[1]);
    expect(said).toBeGreaterThan(200);
    expect(said).toBeLessThanOrEqual(250);
    expect(held).toHaveLength(1);
    const heldMs = await held[0]!;
    expect(heldMs).toBeGreaterThanOrEqual(200); // the clock starts a little before the upstream sees the call
    expect(heldMs).toBeLessThan(300);
  });

  it('gRPC: timeoutMs 500 ends the call between 500 and 600 ms, seen from the client', async () => {
    fixture.catalog.recorder.behaviour = { delayMs: 5000, failStatus: 0, drop: false, failHealth: false };
    try {
      const started = Date.now();
      const r = await gw.gql('{ product(id: "p2") { id } }');
      const took = Date.now() - started;
      expect(r.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
      expect(r.body.errors?.[0]?.message).toMatch(/timed out after/);
      expect(took).toBeGreaterThanOrEqual(500);
      // Measured at the client, so the GraphQL work around the call counts too (the deadline
      // itself travels to the upstream as a gRPC deadline, kept by grpc-js to the millisecond).
      expect(took).toBeLessThan(600);
    } finally {
      fixture.catalog.recorder.reset();
    }
  });

  it('passthrough routes with timeoutMs 250 / 500 / 1000 end the upstream call within 50 ms of each, and answer 504', async () => {
    // Held time measured at the upstream (arrival to the gateway dropping the request), so the
    // client's and the gateway's own work around the call, which a loaded machine stretches, does not count.
    const held = new Map<string, Promise<number>>();
    answer = (req) => {
      const arrived = Date.now();
      held.set(req.url ?? '', new Promise((r) => req.socket.once('close', () => r(Date.now() - arrived))));
    };
    const timed = await Promise.all(
      [250, 500, 1000].map(async (ms) => {
        const started = Date.now();
        const r = await fetch(`${gw.url}/t${ms}/x`);
        const body = (await r.json()) as { code: string };
        return { ms, status: r.status, code: body.code, took: Date.now() - started };
      }),
    );
    for (const t of timed) {
      expect(t.status).toBe(504);
      expect(t.code).toBe('UPSTREAM_TIMEOUT');
      expect(t.took).toBeGreaterThanOrEqual(t.ms);
      const heldMs = await held.get(`/t${t.ms}/x`)!;
      // The clock starts when the gateway makes the call, a little before the upstream sees it.
      expect(heldMs).toBeGreaterThanOrEqual(t.ms - 50);
      expect(heldMs - t.ms).toBeLessThan(50);
    }
  });
});

describe('nothing to reach is UPSTREAM_UNAVAILABLE', () => {
  it('connection refused', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const other = await startTestGateway({ demo: { ...fixture, targets: { ...fixture.targets, users: `http://127.0.0.1:${port}` } } });
    try {
      const r = await other.gql('{ user(id: "1") { id } }');
      expect(r.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(r.body.errors?.[0]?.message).toMatch(/users is unavailable/);
    } finally {
      await other.close();
    }
  });
});
