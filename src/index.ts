/**
 * Public API of the engine: what a team's domain modules import (defineResolvers, defineLoader,
 * defineDemo, the error constructors) and what embedders and tests use to start a gateway.
 */
import type { GatewayConfig } from './config/schema.js';
import { loadConfigFile } from './config/load.js';
import { assembleGateway } from './assemble.js';
import type { Gateway } from './server.js';
import { createLogger, loggerOptions, type Logger } from './telemetry/logger.js';
import { startDemos, type DemoTargets, type RunningDemos } from './demo/start-demos.js';
import { PROJECT_ROOT, UPSTREAMS_DIR } from './paths.js';

export { createGateway, type Gateway } from './server.js';
export { assembleGateway, applyDemoTargets, type AssembleOptions } from './assemble.js';
export { composeSchema, CompositionError } from './graphql/compose.js';
export { loadConfigFile, parseConfig, ConfigError } from './config/load.js';
export type { GatewayConfig } from './config/schema.js';
export { startDemos, type DemoTargets, type RunningDemos } from './demo/start-demos.js';
export * from './domain.js';

export interface StartOptions {
  /** A config file path, or an already-parsed config. */
  config: string | GatewayConfig;
  /** Overrides `server.port` (0 = ephemeral). */
  port?: number;
  host?: string;
  /** Start the demo server of every configured upstream that has one, and point the upstream at it. */
  demo?: boolean;
  /** Demo servers already running (by upstream name), instead of starting them. */
  demoTargets?: DemoTargets;
  /** Where the domain's upstream folders are (demo servers). @default upstreams/ */
  upstreamsDir?: string;
  schemaDir?: string;
  resolversDir?: string;
  logger?: Logger;
}

export interface RunningGateway {
  gateway: Gateway;
  port: number;
  url: string;
  /** The demo servers started for this gateway, by upstream name. */
  demo: RunningDemos | undefined;
  close(): Promise<void>;
}

/** Assembles a gateway and listens (a single process without hot reload: tests and embedders). */
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
  const logger = opts.logger ?? createLogger(loggerOptions(config.logging));
  const demo = opts.demo
    ? await startDemos({ upstreamsDir: opts.upstreamsDir ?? UPSTREAMS_DIR, names: Object.keys(config.upstreams), root: PROJECT_ROOT })
    : undefined;
  try {
    const { gateway, config: used } = await assembleGateway({ config, configDir, schemaDir: opts.schemaDir, resolversDir: opts.resolversDir, demoTargets: demo?.targets ?? opts.demoTargets, logger });
    const port = await gateway.listen(opts.port ?? used.server.port, opts.host ?? used.server.host);
    logger.info({ port, url: `${gateway.url}${used.graphql.path}` }, 'listening');
    logger.flush?.();
    return {
      gateway,
      port,
      url: gateway.url,
      demo,
      async close() {
        await gateway.close();
        await demo?.close();
      },
    };
  } catch (err) {
    await demo?.close();
    throw err;
  }
}
