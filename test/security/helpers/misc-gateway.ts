/**
 * The misc security tests' own small world: one node:http upstream that records what reached
 * it, and a gateway in front of it (a passthrough route `/echo/*` and the fixture schema under
 * test/security/fixtures/misc/), configured through the real config loader.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startGateway, type RunningGateway } from '../../../src/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { configFrom } from '../../helpers/gateway.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/misc/', import.meta.url));

export interface EchoUpstream {
  url: string;
  /** Every request the upstream received, in order. */
  received: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export async function startEcho(): Promise<EchoUpstream> {
  const received: EchoUpstream['received'] = [];
  const server = createServer((req, res) => {
    received.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export interface MiscGateway extends RunningGateway {
  echo: EchoUpstream;
}

/** A gateway with the echo upstream behind `/echo` (auth per `routeAuth`); `configure` edits the raw config. */
export async function startMiscGateway(configure: (c: Record<string, any>) => void = () => {}, routeAuth = 'none'): Promise<MiscGateway> {
  const echo = await startEcho();
  const raw: Record<string, any> = {
    // drainGraceMs 0: close() does not wait a grace period for the test's idle keep-alive sockets.
    server: { port: 0, host: '127.0.0.1', drainMs: 500, drainGraceMs: 0 },
    logging: { level: 'silent' },
    upstreams: { echo: { protocol: 'http', targets: [{ url: echo.url }], timeoutMs: 2000 } },
    routes: [{ name: 'echo', match: { pathPrefix: '/echo' }, upstream: 'echo', auth: routeAuth }],
  };
  configure(raw);
  let running: RunningGateway;
  try {
    running = await startGateway({
      config: configFrom(raw),
      port: 0,
      host: '127.0.0.1',
      schemaDir: `${FIXTURE}schema`,
      resolversDir: `${FIXTURE}resolvers`,
      logger: createLogger({ level: 'silent' }),
    });
  } catch (err) {
    await echo.close();
    throw err;
  }
  return {
    ...running,
    echo,
    async close() {
      await running.close();
      await echo.close();
    },
  };
}
