/**
 * `gateway schema check | publish | history | diff`: the schema registry from the command
 * line, for operators and CI. Exit codes: 0 fine; 1 a breaking change (or a client operation
 * that would break, or a refused publish); 2 the schema does not compose.
 */
import type { Command } from 'commander';
import { EXIT_INVALID, EXIT_OK, composeForCli, reportFailure, schemaSourceOptions, type CliIO, type SchemaSource } from './common.js';
import type { CheckReport } from '../registry/report.js';
import { appendFileSync } from 'node:fs';
import type { SchemaRegistry } from '../registry/types.js';

interface CheckOptions extends SchemaSource {
  registry: string;
  operations?: string;
  json?: boolean;
  markdown?: string;
}

/** The registry, diff and report modules (graphql-inspector, ioredis) load only when a schema command runs. */
async function kit() {
  const [graphql, diff, open, operations, report] = await Promise.all([
    import('graphql'),
    import('../registry/diff.js'),
    import('../registry/open-registry.js'),
    import('../registry/operations.js'),
    import('../registry/report.js'),
  ]);
  return { buildSchema: graphql.buildSchema, ...diff, ...open, ...operations, ...report };
}

async function withRegistry<T>(reg: string, fn: (r: SchemaRegistry) => Promise<T>): Promise<T> {
  const { openRegistry } = await kit();
  const registry = openRegistry(reg);
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

export function registerSchemaCommands(schema: Command, io: CliIO, setExit: (code: number) => void): void {
  schemaSourceOptions(
    schema
      .command('check')
      .description('compare the composed schema with the latest published version (and check client operations)')
      .requiredOption('--registry <reg>', 'a folder, or a redis:// URL')
      .option('--operations <path>', 'a .graphql file or a folder of client operations to validate')
      .option('--json', 'machine-readable output')
      .option('--markdown <file>', 'append a Markdown summary (default: $GITHUB_STEP_SUMMARY when set)'),
  ).action(async (opts: CheckOptions) => {
    const { buildSchema, diffSdl, loadOperations, usage, validateOperations, renderMarkdown, renderText, summarize } = await kit();
    try {
      const composed = await composeForCli(opts);
      await withRegistry(opts.registry, async (registry) => {
        const latest = await registry.latest();
        const changes: CheckReport['changes'] = latest ? await diffSdl(latest.sdl, composed.sdl) : [];
        let operations: CheckReport['operations'] = null;
        if (opts.operations) {
          const { operations: ops, unreadable } = loadOperations(opts.operations, process.cwd());
          const broken = [...unreadable, ...validateOperations(buildSchema(composed.sdl), ops)];
          operations = { checked: ops.length, broken };
          if (latest) {
            const used = usage(buildSchema(latest.sdl), ops);
            for (const c of changes) if (c.severity === 'BREAKING') c.usedBy = used.get(c.coordinate) ?? [];
          }
        }
        const breaking = changes.some((c) => c.severity === 'BREAKING') || (operations?.broken.length ?? 0) > 0;
        const report: CheckReport = { registry: registry.location, baseVersion: latest?.version ?? null, breaking, summary: summarize(changes), changes, operations };
        io.out.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report, (io.out as { isTTY?: boolean }).isTTY === true));
        const md = opts.markdown ?? process.env.GITHUB_STEP_SUMMARY;
        if (md) appendFileSync(md, renderMarkdown(report));
        setExit(breaking ? EXIT_INVALID : EXIT_OK);
      });
    } catch (err) {
      setExit(reportFailure(err, io));
    }
  });

  schemaSourceOptions(
    schema
      .command('publish')
      .description('publish the composed schema as a new version (no-op when unchanged)')
      .requiredOption('--registry <reg>', 'a folder, or a redis:// URL')
      .option('--force', 'publish even with breaking changes'),
  ).action(async (opts: SchemaSource & { registry: string; force?: boolean }) => {
    const { diffSdl, formatChange, currentCommit } = await kit();
    try {
      const composed = await composeForCli(opts);
      await withRegistry(opts.registry, async (registry) => {
        const latest = await registry.latest();
        if (latest) {
          const breaking = (await diffSdl(latest.sdl, composed.sdl)).filter((c) => c.severity === 'BREAKING');
          if (breaking.length && !opts.force) {
            for (const c of breaking) io.err.write(`${formatChange(c)}\n`);
            io.err.write(`refusing to publish ${breaking.length} breaking change(s) over version ${latest.version}; use --force to publish anyway\n`);
            setExit(EXIT_INVALID);
            return;
          }
        }
        const { version, created } = await registry.publish(composed.sdl, currentCommit());
        io.out.write(created ? `published version ${version.version} to ${registry.location}\n` : `unchanged: version ${version.version} is already the latest\n`);
        setExit(EXIT_OK);
      });
    } catch (err) {
      setExit(reportFailure(err, io));
    }
  });

  schema
    .command('history')
    .description('list the published versions')
    .requiredOption('--registry <reg>', 'a folder, or a redis:// URL')
    .action(async (opts: { registry: string }) => {
      await withRegistry(opts.registry, async (registry) => {
        for (const v of await registry.list()) io.out.write(`${v.version}\t${v.publishedAt}\t${v.hash.slice(0, 12)}\t${v.commit?.slice(0, 12) ?? '-'}\n`);
      });
      setExit(EXIT_OK);
    });

  schema
    .command('diff [from] [to]')
    .description('changes between two published versions (default: the last two)')
    .requiredOption('--registry <reg>', 'a folder, or a redis:// URL')
    .option('--from <n>', 'older version', (v) => Number.parseInt(v, 10))
    .option('--to <n>', 'newer version', (v) => Number.parseInt(v, 10))
    .action(async (fromArg: string | undefined, toArg: string | undefined, opts: { registry: string; from?: number; to?: number }) => {
      const { diffSdl, formatChange } = await kit();
      if (fromArg !== undefined) opts.from = Number.parseInt(fromArg, 10);
      if (toArg !== undefined) opts.to = Number.parseInt(toArg, 10);
      await withRegistry(opts.registry, async (registry) => {
        const all = await registry.list();
        const to = opts.to ?? all[all.length - 1]?.version;
        const from = opts.from ?? (to !== undefined ? to - 1 : undefined);
        const a = from !== undefined ? await registry.get(from) : undefined;
        const b = to !== undefined ? await registry.get(to) : undefined;
        if (!a || !b) {
          io.err.write(`versions ${from ?? '?'} and ${to ?? '?'} are not both in ${registry.location}\n`);
          setExit(EXIT_INVALID);
          return;
        }
        const changes = await diffSdl(a.sdl, b.sdl);
        io.out.write(`version ${a.version} → ${b.version}\n`);
        for (const c of changes) io.out.write(`${formatChange(c)}\n`);
        setExit(EXIT_OK);
      });
    });
}
