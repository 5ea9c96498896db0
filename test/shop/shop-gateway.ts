/**
 * The shipped example (schema/, resolvers/, upstreams/) behind a real gateway on port 0, for the
 * tests that check the shop itself (CONTRACT §3). Engine tests use test/helpers/gateway.ts and the
 * fixture domain instead.
 */
import { startGateway, type RunningGateway } from '../../src/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startDemoUpstreams, type DemoUpstreams } from '../../upstreams/shop-demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import { DEFAULT_CONFIG } from '../../src/paths.js';
import { baseConfig, configFrom, gqlClient, type TestGateway } from '../helpers/gateway.js';

/**
 * The upstreams of the shipped gateway.yaml, as they are configured there (names, protocols,
 * methods), pointed nowhere: the shop's demo servers take the ones they serve. An upstream the team
 * adds (docs/extending.md) is configured here without any test file changing.
 */
function shippedUpstreams(): Record<string, any> {
  const { config } = loadConfigFile(DEFAULT_CONFIG);
  return Object.fromEntries(
    Object.entries(config.upstreams).map(([name, u]) => [
      name,
      {
        protocol: u.protocol,
        targets: [{ url: u.protocol === 'grpc' ? '127.0.0.1:1' : 'http://127.0.0.1:1' }],
        timeoutMs: 1000,
        ...(u.idempotentMethods ? { idempotentMethods: u.idempotentMethods } : {}),
      },
    ]),
  );
}

export interface ShopGateway extends Omit<RunningGateway, 'demo'> {
  demo: DemoUpstreams;
  gql: TestGateway['gql'];
}

export async function startShopGateway(opts: { configure?: (config: Record<string, any>) => void } = {}): Promise<ShopGateway> {
  const raw = { ...baseConfig(), upstreams: shippedUpstreams() };
  opts.configure?.(raw);
  const demo = await startDemoUpstreams();
  const running = await startGateway({ config: configFrom(raw), demoTargets: demo.targets, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) });
  return {
    ...running,
    demo,
    gql: gqlClient(running.url),
    async close() {
      await running.close();
      await demo.close();
    },
  };
}
