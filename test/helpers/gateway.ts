/**
 * Starts a real gateway on port 0 with the tests' fixture domain (test/fixtures/domain/) in front of
 * its real upstreams (also on port 0), the way `gateway start --demo` does, from a config written as
 * a plain object and validated by the same loader as a config file.
 */
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from '../../src/index.js';
import { createLogger, type Logger } from '../../src/telemetry/logger.js';
import { FIXTURE_RESOLVERS_DIR, FIXTURE_SCHEMA_DIR, startFixtureUpstreams, type FixtureUpstreams } from '../fixtures/domain/index.js';

/** The fixture domain's upstreams; tests add keys on top. */
export function baseConfig(): Record<string, any> {
  return {
    server: { port: 0, host: '127.0.0.1', drainMs: 2000, drainGraceMs: 0 },
    logging: { level: 'silent' },
    upstreams: {
      users: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }], timeoutMs: 1000 },
      orders: { protocol: 'http', targets: [{ url: 'http://127.0.0.1:1' }], timeoutMs: 1000 },
      catalog: { protocol: 'grpc', targets: [{ url: '127.0.0.1:1' }], timeoutMs: 1000, idempotentMethods: ['GetProducts'] },
    },
  };
}

/** Validates a config object through the real loader (defaults applied, errors thrown). */
export function configFrom(obj: Record<string, any>, env: NodeJS.ProcessEnv = {}): GatewayConfig {
  return parseConfig(stringify(obj), env);
}

export interface TestGateway extends Omit<RunningGateway, 'demo'> {
  demo: FixtureUpstreams;
  /** POSTs a GraphQL operation; returns status, headers and the parsed body. */
  gql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse>;
}

export interface GqlResponse {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: { code?: string; [k: string]: unknown } }> };
}

export interface TestGatewayOptions {
  /** Mutates the base config before it is validated. */
  configure?: (config: Record<string, any>) => void;
  /** Reuse demo upstreams (otherwise fresh ones start and stop with the gateway). */
  demo?: FixtureUpstreams;
  logger?: Logger;
}

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const raw = baseConfig();
  opts.configure?.(raw);
  const ownDemo = !opts.demo;
  const demo = opts.demo ?? (await startFixtureUpstreams());
  const running = await startGateway({
    config: configFrom(raw),
    schemaDir: FIXTURE_SCHEMA_DIR,
    resolversDir: FIXTURE_RESOLVERS_DIR,
    demoTargets: demo.targets,
    port: 0,
    host: '127.0.0.1',
    logger: opts.logger ?? createLogger({ level: 'silent' }),
  });
  return {
    ...running,
    demo,
    async close() {
      await running.close();
      if (ownDemo) await demo.close();
    },
    gql: gqlClient(running.url),
  };
}

/** POSTs GraphQL operations to `${url}/graphql`; returns status, headers and the parsed body. */
export function gqlClient(url: string): TestGateway['gql'] {
  return async (query, variables, headers = {}) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    let body: GqlResponse['body'];
    try {
      body = JSON.parse(text) as GqlResponse['body'];
    } catch {
      throw new Error(`non-JSON GraphQL response ${res.status}: ${text.slice(0, 200)}`);
    }
    return { status: res.status, headers: res.headers, body };
  };
}
