/**
 * Public API: start a gateway from a config file (what `gateway start` does), or assemble one
 * from parts (what tests and embedders do).
 */
import type { GatewayConfig } from './config/schema.js';
import { loadConfigFile, parseConfig } from './config/load.js';
import { composeSchema } from './graphql/compose.js';
import { createGateway, type Gateway } from './server.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { PROJECT_ROOT, RESOLVERS_DIR, SCHEMA_DIR } from './paths.js';
import { startDemoUpstreams, type DemoUpstreams } from '../upstreams/demo/index.js';

export { createGateway, type Gateway } from './server.js';
export { composeSchema, CompositionError } from './graphql/compose.js';
export { loadConfigFile, parseConfig, ConfigError } from './config/load.js';
export type { GatewayConfig } from './config/schema.js';
export { defineResolvers, type GraphQLContext } from './graphql/define-resolvers.js';

export interface StartOptions {
  /** A config file path, or an already-parsed config. */
  config: string | GatewayConfig;
  /** Overrides `server.port` (0 = ephemeral). */
  port?: number;
  host?: string;
  /** Start the demo upstreams in-process and point users/orders/catalog at them. */
  demo?: boolean;
  /** Already-running demo upstreams to point users/orders/catalog at (tests). */
  demoUpstreams?: DemoUpstreams;
  schemaDir?: string;
  resolversDir?: string;
  logger?: Logger;
}

export interface RunningGateway {
  gateway: Gateway;
  port: number;
  url: string;
  demo: DemoUpstreams | undefined;
  close(): Promise<void>;
}

/** Points the example domain's upstreams at in-process demo servers. */
export function useDemoTargets(config: GatewayConfig, demo: DemoUpstreams): GatewayConfig {
  const upstreams = { ...config.upstreams };
  const set = (name: string, url: string) => {
    const u = upstreams[name];
    if (u) upstreams[name] = { ...u, targets: [{ url, weight: 1 }] };
  };
  set('users', demo.users.url);
  set('orders', demo.orders.url);
  set('catalog', demo.catalog.address);
  return { ...config, upstreams };
}

export async function startGateway(opts: StartOptions): Promise<RunningGateway> {
  let config: GatewayConfig;
  let configDir = PROJECT_ROOT;
  if (typeof opts.config === 'string') {
    const loaded = loadConfigFile(opts.config);
    config = loaded.config;
    configDir = loaded.baseDir;
  } else {
    config = opts.config;
  }
  const logger = opts.logger ?? createLogger({ level: config.logging.level });
  const composed = await composeSchema({
    schemaDir: opts.schemaDir ?? SCHEMA_DIR,
    resolversDir: opts.resolversDir ?? RESOLVERS_DIR,
    upstreams: Object.keys(config.upstreams),
    root: PROJECT_ROOT,
  });
  let demo: DemoUpstreams | undefined;
  let ownDemo = false;
  if (opts.demoUpstreams) {
    demo = opts.demoUpstreams;
    config = useDemoTargets(config, demo);
  } else if (opts.demo) {
    ownDemo = true;
    demo = await startDemoUpstreams();
    config = useDemoTargets(config, demo);
    logger.info({ users: demo.users.url, orders: demo.orders.url, catalog: demo.catalog.address }, 'demo upstreams started');
  }
  const gateway = createGateway({ config, schema: composed.schema, projectRoot: PROJECT_ROOT, configDir, logger });
  const port = await gateway.listen(opts.port ?? config.server.port, opts.host ?? config.server.host);
  logger.info({ port, url: `${gateway.url}${config.graphql.path}` }, 'listening');
  return {
    gateway,
    port,
    url: gateway.url,
    demo,
    async close() {
      await gateway.close();
      if (ownDemo) await demo?.close();
    },
  };
}

