/**
 * The shipped example (schema/, resolvers/, upstreams/) behind a real gateway on port 0, for the
 * tests that check the shop itself (CONTRACT §3). Engine tests use test/helpers/gateway.ts and the
 * fixture domain instead.
 */
import { startGateway, type RunningGateway } from '../../src/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startDemoUpstreams, type DemoUpstreams } from '../../upstreams/shop-demo.js';
import { baseConfig, configFrom, gqlClient, type TestGateway } from '../helpers/gateway.js';

export interface ShopGateway extends Omit<RunningGateway, 'demo'> {
  demo: DemoUpstreams;
  gql: TestGateway['gql'];
}

/** The shop's own upstreams are the fixture's names too, so the same base config fits. */
export async function startShopGateway(opts: { configure?: (config: Record<string, any>) => void } = {}): Promise<ShopGateway> {
  const raw = baseConfig();
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
