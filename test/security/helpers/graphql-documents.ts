/**
 * A gateway over the widgets fixture (test/security/fixtures/graphql-documents) in front of a
 * tiny counting upstream, for the GraphQL-document security tests.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { configFrom } from '../../helpers/gateway.js';
import { startGateway, type RunningGateway } from '../../../src/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/graphql-documents/', import.meta.url));

export interface WidgetsUpstream {
  url: string;
  /** Every request the upstream received, as "METHOD path". */
  calls: string[];
  close(): Promise<void>;
}

export async function startWidgetsUpstream(): Promise<WidgetsUpstream> {
  const calls: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    calls.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      const id = /^\/widgets\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '1';
      const widget = { id, label: `widget ${id}`, shade: 'LIGHT' };
      const body = JSON.stringify(req.url?.startsWith('/widgets?') ? [widget] : widget);
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface WidgetsGateway extends RunningGateway {
  upstream: WidgetsUpstream;
  /** POSTs a JSON GraphQL request body; `accept` defaults to application/graphql-response+json. */
  post(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; ms: number }>;
}

/** The shipped gateway.yaml limits, which GraphiQL's introspection must pass. */
export const SHIPPED_LIMITS = { maxDepth: 12, maxAliases: 30 };

export async function startWidgetsGateway(graphql: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<WidgetsGateway> {
  const upstream = await startWidgetsUpstream();
  const config = configFrom({
    // drainGraceMs 0: close() does not wait a grace period for the test's idle keep-alive sockets.
    server: { port: 0, host: '127.0.0.1', drainMs: 500, drainGraceMs: 0 },
    logging: { level: 'silent' },
    graphql: { ...SHIPPED_LIMITS, ...graphql },
    upstreams: { widgets: { protocol: 'http', targets: [{ url: upstream.url }], timeoutMs: 2000 } },
    ...extra,
  });
  const running = await startGateway({
    config,
    port: 0,
    host: '127.0.0.1',
    schemaDir: `${FIXTURE}schema`,
    resolversDir: `${FIXTURE}resolvers`,
    logger: createLogger({ level: 'silent' }),
  });
  return {
    ...running,
    upstream,
    async post(body, headers = {}) {
      const started = performance.now();
      const res = await fetch(`${running.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      const ms = performance.now() - started;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed, ms };
    },
    async close() {
      await running.close();
      await upstream.close();
    },
  };
}
