/**
 * `gateway` — the operator and CI entry point.
 *
 * Exit codes: 0 ok; 1 invalid config, or a breaking schema change; 2 the schema does not
 * compose (or a usage error).
 */
import { Command, CommanderError } from 'commander';
import { EXIT_COMPOSE, EXIT_OK, composeForCli, reportFailure, schemaSourceOptions, type CliIO, type SchemaSource } from './cli/common.js';
import { loadConfigFile } from './config/load.js';
import { registerSchemaCommands } from './cli/schema-commands.js';
import { registerTokenCommand } from './cli/token-command.js';
import { registerImportCommands } from './cli/import-command.js';
import { registerStartCommand } from './cli/start-command.js';
import { checkTlsFiles } from './http/tls-files.js';

export { EXIT_COMPOSE, EXIT_INVALID, EXIT_OK, type CliIO } from './cli/common.js';

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
        const loaded = loadConfigFile(opts.config);
        // The TLS files are part of the configuration: unreadable or unusable ones are problems too.
        checkTlsFiles(loaded.config, loaded.baseDir, opts.config);
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
  registerImportCommands(program, io, setExit);
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
