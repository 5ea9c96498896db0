/**
 * `gateway start` speaks to the operator: one progress line per phase, a taken port in one line
 * before anything else starts, and the human URL line on a terminal.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatReadyLine } from '../src/cli/start-report.js';
import { runCli, startCliGateway } from './helpers/cli.js';

let blocker: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  blocker = undefined;
});

function takePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    blocker = createServer();
    blocker.once('error', reject);
    blocker.listen(0, '0.0.0.0', () => resolve((blocker!.address() as { port: number }).port));
  });
}

describe('gateway start', () => {
  it('a taken port is one line and exit 1, before any demo upstream starts', async () => {
    const port = await takePort();
    const r = await runCli(['start', '--config', 'gateway.yaml', '--demo', '--port', String(port)], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`port ${port} is in use; set PORT or server.port (or pass --port)\n`);
    expect(r.stdout).not.toContain('demo upstreams started');
    expect(r.stdout).not.toContain('schema composed');
    expect(r.stdout).not.toContain('EADDRINUSE');
  }, 40_000);

  it('logs a line per phase, in order, up to listening (JSON when stdout is not a terminal)', async () => {
    const gw = await startCliGateway(['--config', 'gateway.yaml', '--demo', '--port', '0'], { env: { LOG_LEVEL: 'info' } });
    try {
      const msgs = gw.lines.map((l) => l.msg);
      const phases = ['config loaded', 'demo upstreams started', 'schema composed', 'upstreams ready', 'listening'];
      expect(msgs.filter((m) => phases.includes(m as string))).toEqual(phases);
      expect(gw.lines.find((l) => l.msg === 'upstreams ready')?.upstreams).toEqual(expect.arrayContaining(['users', 'orders', 'catalog']));
      expect(gw.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('gateway ready'))).toBe(false);
    } finally {
      await gw.stop();
    }
  }, 40_000);
});

describe('the terminal line', () => {
  it('names the GraphQL, GraphiQL and metrics URLs', () => {
    const line = formatReadyLine({ url: 'http://127.0.0.1:4000', graphqlPath: '/graphql', graphiql: true });
    expect(line).toBe('gateway ready · GraphQL http://127.0.0.1:4000/graphql · GraphiQL http://127.0.0.1:4000/graphql (open in a browser) · metrics http://127.0.0.1:4000/metrics');
  });

  it('leaves GraphiQL out when it is off, and points metrics at their own port', () => {
    const line = formatReadyLine({ url: 'http://[::1]:8080', graphqlPath: '/gql', graphiql: false, metricsPort: 9464 });
    expect(line).toBe('gateway ready · GraphQL http://[::1]:8080/gql · metrics http://[::1]:9464/metrics');
  });

  it('with TLS on the main listener, names https URLs and keeps the metrics port plain http', () => {
    const line = formatReadyLine({ url: 'https://127.0.0.1:8443', graphqlPath: '/graphql', graphiql: false, metricsPort: 9464 });
    expect(line).toBe('gateway ready · GraphQL https://127.0.0.1:8443/graphql · metrics http://127.0.0.1:9464/metrics');
  });
});
