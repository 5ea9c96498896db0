/**
 * `gateway` — the operator and CI entry point.
 *
 * Exit codes: 0 ok; 1 invalid config, or a breaking schema change; 2 the schema does not
 * compose (or a usage error).
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfigFile } from './config/load.js';
import { CompositionError, composeSchema, type ComposedSchema } from './graphql/compose.js';
import { DEFAULT_CONFIG, PROJECT_ROOT, RESOLVERS_DIR, SCHEMA_DIR } from './paths.js';
import { registerSchemaCommands } from './cli/schema-commands.js';
import { registerTokenCommand } from './cli/token-command.js';
import { registerStartCommand } from './cli/start-command.js';

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
  const upstreams = configFile ? Object.keys(loadConfigFile(configFile).config.upstreams) : undefined;
  return composeSchema({
    schemaDir: src.schemaDir ?? SCHEMA_DIR,
    resolversDir: src.resolversDir ?? RESOLVERS_DIR,
    upstreams,
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

export function buildCli(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('gateway')
    .description('GraphQL/BFF gateway')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .showHelpAfterError();

  registerStartCommand(program, io, setExit);

  const config = program.command('config').description('configuration commands');
  config
    .command('check')
    .description('validate a config file; lists every problem by key path')
    .requiredOption('--config <file>', 'config file')
    .action((opts: { config: string }) => {
      try {
        loadConfigFile(opts.config);
        io.out.write(`${opts.config}: ok\n`);
        setExit(EXIT_OK);
      } catch (err) {
        setExit(reportFailure(err, io));
      }
    });

  const schema = program.command('schema').description('schema commands');
  schemaSourceOptions(schema.command('print').description('print the composed schema (SDL)')).action(async (opts: SchemaSource) => {
    try {
      const composed = await composeForCli(opts);
      io.out.write(composed.sdl.endsWith('\n') ? composed.sdl : `${composed.sdl}\n`);
      setExit(EXIT_OK);
    } catch (err) {
      setExit(reportFailure(err, io));
    }
  });
  registerSchemaCommands(schema, io, setExit);
  registerTokenCommand(program, io, setExit);
  return program;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: CliIO = { out: process.stdout, err: process.stderr }): Promise<number> {
  let code = EXIT_OK;
  const program = buildCli(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_COMPOSE;
    io.err.write(`${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
  return code;
}
