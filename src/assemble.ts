/**
 * The one way a gateway is put together from a validated config and the domain's folders:
 * `gateway start` (through src/reload.ts), cluster workers, hot reload and the tests all come
 * through here, so what runs under test is what runs in production.
 */
import type { GatewayConfig } from './config/schema.js';
import { composeSchema, type ComposedSchema } from './graphql/compose.js';
import { createGateway, type Gateway } from './server.js';
import type { PluginCarry } from './plugins/carry.js';
import type { Logger } from './telemetry/logger.js';
import type { DemoTargets } from './demo/start-demos.js';
import { PROJECT_ROOT, RESOLVERS_DIR, SCHEMA_DIR } from './paths.js';

export interface AssembleOptions {
  config: GatewayConfig;
  /** Folder of the config file: relative paths inside it resolve against it. @default the project root */
  configDir?: string;
  /** @default schema/ of the project */
  schemaDir?: string;
  /** @default resolvers/ of the project (compiled output when the engine runs compiled) */
  resolversDir?: string;
  /** Points these upstreams at demo servers (see startDemos). */
  demoTargets?: DemoTargets;
  logger: Logger;
  /** Hot reload: unchanged plugins (and their state) carry over from the serving generation. */
  carry?: PluginCarry;
}

export interface Assembled {
  gateway: Gateway;
  config: GatewayConfig;
  composed: ComposedSchema;
}

/** Points upstreams at demo servers: each named upstream gets the one target given. */
export function applyDemoTargets(config: GatewayConfig, demo: DemoTargets): GatewayConfig {
  const upstreams = { ...config.upstreams };
  for (const [name, url] of Object.entries(demo)) {
    const u = upstreams[name];
    if (u) upstreams[name] = { ...u, targets: [{ url, weight: 1 }] };
  }
  return { ...config, upstreams };
}

/** Composes the schema for `config` (every problem names its file). */
export function composeFor(config: GatewayConfig, dirs: { schemaDir?: string; resolversDir?: string }): Promise<ComposedSchema> {
  return composeSchema({
    schemaDir: dirs.schemaDir ?? SCHEMA_DIR,
    resolversDir: dirs.resolversDir ?? RESOLVERS_DIR,
    upstreams: config.upstreams,
    bindingValues: config.graphql.bindingValues,
    root: PROJECT_ROOT,
  });
}

/** Builds a gateway (not yet listening); throws CompositionError when the domain does not compose. */
export async function assembleGateway(opts: AssembleOptions): Promise<Assembled> {
  const config = opts.demoTargets ? applyDemoTargets(opts.config, opts.demoTargets) : opts.config;
  const composed = await composeFor(config, opts);
  opts.logger.info({ types: Object.keys(composed.schema.getTypeMap()).filter((t) => !t.startsWith('__')).length }, 'schema composed');
  const gateway = createGateway({
    config,
    schema: composed.schema,
    bindings: composed.bindings,
    projectRoot: PROJECT_ROOT,
    configDir: opts.configDir ?? PROJECT_ROOT,
    logger: opts.logger,
    carry: opts.carry,
  });
  opts.logger.info({ upstreams: Object.keys(config.upstreams) }, 'upstreams ready');
  // Each generation (start-up and every reload), once per upstream: easy to leave on from a test setup.
  for (const [name, u] of Object.entries(config.upstreams)) {
    if (u.tls?.rejectUnauthorized === false) {
      opts.logger.warn({ upstream: name, key: `upstreams.${name}.tls.rejectUnauthorized` }, `upstream ${name}: TLS certificate verification is off (tls.rejectUnauthorized: false); anyone on the path can impersonate it`);
    }
  }
  return { gateway, config, composed };
}
