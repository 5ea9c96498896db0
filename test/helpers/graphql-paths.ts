/**
 * Two gateways over one set of fixture upstreams, for tests that compare GraphQL paths: `direct`
 * with the direct path (and prepared execution) on, `full` with every request on yoga's full
 * path (`graphql.fastPath: false`), both with the same graphql section otherwise. Registers its
 * own beforeAll / afterAll / beforeEach (upstream behaviour reset) in the calling file.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFixtureUpstreams, type FixtureUpstreams } from '../fixtures/domain/index.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import type { Logger } from '../../src/telemetry/logger.js';

export interface GraphqlPaths {
  demo: FixtureUpstreams;
  direct: TestGateway;
  full: TestGateway;
}

export function useGraphqlPaths(graphqlConfig: Record<string, unknown>, logger: Logger): GraphqlPaths {
  const paths = {} as GraphqlPaths;
  beforeAll(async () => {
    paths.demo = await startFixtureUpstreams();
    paths.direct = await startTestGateway({ demo: paths.demo, logger, configure: (c) => (c.graphql = { ...graphqlConfig }) });
    paths.full = await startTestGateway({ demo: paths.demo, logger, configure: (c) => (c.graphql = { ...graphqlConfig, fastPath: false }) });
  });
  afterAll(async () => {
    await paths.direct?.close();
    await paths.full?.close();
    await paths.demo?.close();
  });
  beforeEach(() => paths.demo.reset());
  return paths;
}
