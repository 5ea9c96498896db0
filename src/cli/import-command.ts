/**
 * `gateway import openapi FILE` / `gateway import proto FILE`: SDL with binding directives for
 * an upstream's operations, printed as a starting point to edit (docs/import.md).
 *
 * Exit 0 with the SDL on stdout (or in `--out`), exit 1 with one line on stderr for a file that
 * cannot be imported. The printed SDL is parsed before it is written: what this prints parses.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { EXIT_INVALID, EXIT_OK, type CliIO } from './common.js';
import { ImportError, UPSTREAM_NAME, parseList, upstreamFromFile } from './import/source.js';
import { oneLine, printDocument, type SdlDocument } from './import/sdl.js';

interface ImportOptions {
  upstream?: string;
  out?: string;
  operations?: string;
  methods?: string;
  protoPath?: string[];
}

async function render(doc: SdlDocument, label: string): Promise<string> {
  if (doc.query.length + doc.mutation.length === 0) {
    const why = doc.skipped[0] ? `: skipped ${doc.skipped[0]}` : '';
    throw new ImportError(`${label}: nothing to import${why}`);
  }
  const { parse } = await import('graphql');
  const sdl = printDocument(doc);
  // A failure here is a bug of the importer, not of the file: let it surface with its stack.
  parse(sdl, { noLocation: true });
  return sdl;
}

function writeOut(file: string, sdl: string): void {
  try {
    writeFileSync(file, sdl);
  } catch (err) {
    throw new ImportError(`--out ${file}: cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function runImport(io: CliIO, setExit: (code: number) => void, build: (file: string, label: string, upstream: string, opts: ImportOptions) => Promise<SdlDocument>) {
  return async (file: string, opts: ImportOptions): Promise<void> => {
    try {
      const label = basename(file);
      const upstream = opts.upstream ?? upstreamFromFile(file);
      if (!UPSTREAM_NAME.test(upstream)) throw new ImportError(`--upstream ${JSON.stringify(upstream)}: upstream names are letters, digits, _ and - (and do not start with a digit or -)`);
      const sdl = await render(await build(file, label, upstream, opts), label);
      if (opts.out) writeOut(opts.out, sdl);
      else io.out.write(sdl);
      setExit(EXIT_OK);
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      io.err.write(`import: ${oneLine(err.message, 400)}\n`);
      setExit(EXIT_INVALID);
    }
  };
}

export function registerImportCommands(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const imp = program.command('import').description('print SDL with binding directives for an upstream, as a starting point to edit');
  imp
    .command('openapi')
    .description('Query/Mutation fields bound with @http for the operations of an OpenAPI 3.0/3.1 document (JSON or YAML)')
    .argument('<file>', 'the OpenAPI document')
    .option('--operations <ids>', 'comma-separated operationIds to import (default: all)')
    .option('--upstream <name>', 'the upstream the bindings name (default: the file name up to its first dot)')
    .option('--out <file>', 'write the SDL to this file instead of stdout')
    .action(
      runImport(io, setExit, async (file, label, upstream, opts) => {
        const { loadOpenApi } = await import('./import/openapi-load.js');
        const { importOpenApi } = await import('./import/openapi.js');
        const only = parseList(opts.operations);
        return importOpenApi(await loadOpenApi(file), { label, upstream, ...(only ? { only } : {}) });
      }),
    );
  imp
    .command('proto')
    .description('Query/Mutation fields bound with @grpc for the rpcs of a .proto file')
    .argument('<file>', 'the .proto file (imports are read relative to it)')
    .option('--methods <names>', 'comma-separated rpc names to import (default: all)')
    .option('--proto-path <dir>', 'a folder to look up imports in, like protoc -I (repeatable)', (d: string, prev: string[] = []) => [...prev, d])
    .option('--upstream <name>', 'the upstream the bindings name (default: the file name up to its first dot)')
    .option('--out <file>', 'write the SDL to this file instead of stdout')
    .action(
      runImport(io, setExit, async (file, label, upstream, opts) => {
        const { importProto } = await import('./import/proto.js');
        const only = parseList(opts.methods);
        return importProto(file, { label, upstream, ...(only ? { only } : {}), ...(opts.protoPath ? { protoPath: opts.protoPath } : {}) });
      }),
    );
}
