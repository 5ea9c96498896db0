/**
 * What every CLI command shares: exit codes, output streams, and how a composition or config
 * problem is reported.
 */
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { CompositionError } from '../graphql/composition-error.js';
import type { ComposedSchema } from '../graphql/compose.js';
import { DEFAULT_CONFIG, PROJECT_ROOT, RESOLVERS_DIR, SCHEMA_DIR } from '../paths.js';

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_COMPOSE = 2;

export interface CliIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export interface SchemaSource {
  schemaDir?: string;
  resolversDir?: string;
  config?: string;
}

/** Composes the project's schema for CLI commands, checking upstream names when a config is known. */
export async function composeForCli(src: SchemaSource): Promise<ComposedSchema> {
  const configFile = src.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  const config = configFile ? loadConfigFile(configFile).config : undefined;
  // GraphQL and the resolver modules load only for commands that compose (not for `config check`).
  const { composeSchema } = await import('../graphql/compose.js');
  return composeSchema({
    schemaDir: src.schemaDir ?? SCHEMA_DIR,
    resolversDir: src.resolversDir ?? RESOLVERS_DIR,
    upstreams: config?.upstreams,
    bindingValues: config?.graphql.bindingValues,
    root: PROJECT_ROOT,
  });
}

/** Prints a composition or config problem and returns the matching exit code. */
export function reportFailure(err: unknown, io: CliIO): number {
  if (err instanceof CompositionError) {
    io.err.write(`schema does not compose: ${err.message}\n`);
    return EXIT_COMPOSE;
  }
  if (err instanceof ConfigError) {
    io.err.write(`${err.message}\n`);
    return EXIT_INVALID;
  }
  throw err;
}

export function schemaSourceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--schema-dir <dir>', 'folder of .graphql files').default(undefined))
    .addOption(new Option('--resolvers-dir <dir>', 'folder of resolver modules').default(undefined))
    .option('--config <file>', 'config file (to check upstream names)');
}

