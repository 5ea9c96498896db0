/**
 * Composes the schema from `schema/*.graphql` and the modules in `resolvers/`, checking what
 * @graphql-tools would only report vaguely: every problem names the file it comes from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Source, buildASTSchema, isObjectType, isInterfaceType, isInputObjectType, parse, printSchema, type DocumentNode, type GraphQLSchema } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { mergeTypeDefs } from '@graphql-tools/merge';
import type { ResolverModule } from './define-resolvers.js';
import { isLoaderDefinition } from './define-loader.js';
import { loadModule } from '../load-module.js';
import { CompositionError } from './composition-error.js';
import { BINDING_SDL, withoutBindings } from './bindings/declarations.js';
import { ENGINE_DIRECTIVES } from './engine-directives.js';
import { checkBindingArguments, compileBindings, upstreamFacts, type UpstreamFacts } from './bindings/compile.js';
import { Bindings } from './bindings/runtime.js';

export { CompositionError } from './composition-error.js';


export interface ComposeOptions {
  /** Folder of `.graphql` files. */
  schemaDir: string;
  /** Folder of resolver modules (`.ts`, `.js`, `.mjs`). */
  resolversDir: string;
  /**
   * Configured upstreams (the config's `upstreams` section, or only their names); when given, a
   * module or binding naming another upstream is an error, and with the section a binding's
   * protocol and its gRPC method and request fields are checked against the upstream's proto.
   */
  upstreams?: string[] | Readonly<Record<string, { protocol: 'http' | 'grpc'; proto?: string; service?: string }>>;
  /** `graphql.bindingValues`: what `$config.<name>` reads in bindings; when given, unknown names are errors. */
  bindingValues?: Readonly<Record<string, string>>;
  /** Paths in messages are shown relative to this folder. */
  root?: string;
}

export interface ComposedSchema {
  schema: GraphQLSchema;
  /** The printed SDL (what `schema print` shows and the registry stores). */
  sdl: string;
  modules: Array<{ file: string; module: ResolverModule }>;
  /** The fields bound with @http / @grpc (those without a hand-written resolver are served by their binding). */
  bindings: Bindings;
}

const DECLARATIONS = parse(new Source(BINDING_SDL, 'binding directives (engine)'));


function listFiles(dir: string, exts: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new CompositionError(dir, `cannot read folder (${(err as NodeJS.ErrnoException).code})`);
  }
  return names
    .filter((n) => exts.some((e) => n.endsWith(e)) && !n.endsWith('.d.ts') && !n.startsWith('_'))
    .sort()
    .map((n) => join(dir, n));
}

function isResolverModule(m: unknown): m is ResolverModule {
  if (!m || typeof m !== 'object' || !('resolvers' in m)) return false;
  const { upstreams, loaders } = m as ResolverModule;
  return (upstreams === undefined || Array.isArray(upstreams)) && (loaders === undefined || Array.isArray(loaders));
}

export async function composeSchema(opts: ComposeOptions): Promise<ComposedSchema> {
  const root = opts.root ?? process.cwd();
  const show = (f: string) => relative(root, f) || f;

  const documents: DocumentNode[] = [];
  const sdlFiles = listFiles(resolve(opts.schemaDir), ['.graphql', '.gql']);
  if (sdlFiles.length === 0) throw new CompositionError(show(opts.schemaDir), 'no .graphql files');
  for (const file of sdlFiles) {
    try {
      documents.push(parse(new Source(readFileSync(file, 'utf8'), show(file)), { noLocation: false }));
    } catch (err) {
      const at = (err as { locations?: Array<{ line: number; column: number }> }).locations?.[0];
      throw new CompositionError(show(file), (err as Error).message.split('\n')[0] ?? 'syntax error', at);
    }
  }
  // Unknown binding arguments first, with their position (SDL validation would name no file).
  checkBindingArguments(documents);
  let base: GraphQLSchema;
  try {
    base = buildASTSchema(mergeTypeDefs([DECLARATIONS, ENGINE_DIRECTIVES, ...documents]), { assumeValidSDL: false });
  } catch (err) {
    // A merge or validation error spans files; name the first file that mentions the culprit.
    const message = (err as Error).message;
    const name = /"([A-Za-z_][\w.]*)"/.exec(message)?.[1]?.split('.')[0];
    const culprit = name ? sdlFiles.find((f) => new RegExp(`\\b${name}\\b`).test(readFileSync(f, 'utf8'))) : undefined;
    throw new CompositionError(show(culprit ?? opts.schemaDir), message);
  }

  const names = Array.isArray(opts.upstreams) ? opts.upstreams : opts.upstreams ? Object.keys(opts.upstreams) : undefined;
  let facts: Map<string, UpstreamFacts> | undefined;
  if (Array.isArray(opts.upstreams)) facts = new Map(opts.upstreams.map((n) => [n, { protocol: undefined, protoPath: resolve(root, `upstreams/${n}/${n}.proto`) }]));
  else if (opts.upstreams) facts = upstreamFacts(opts.upstreams, root);
  const specs = compileBindings({
    documents,
    schema: base,
    upstreams: facts,
    defaultProtoPath: (n) => resolve(root, `upstreams/${n}/${n}.proto`),
    bindingValues: opts.bindingValues,
  });

  const modules: ComposedSchema['modules'] = [];
  for (const file of listFiles(resolve(opts.resolversDir), ['.ts', '.js', '.mjs'])) {
    let loaded: { default?: unknown };
    try {
      loaded = (await loadModule(file)) as { default?: unknown };
    } catch (err) {
      throw new CompositionError(show(file), `cannot load module: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!isResolverModule(loaded.default)) {
      throw new CompositionError(show(file), 'default export must be defineResolvers({ upstreams, resolvers })');
    }
    const mod = loaded.default;
    for (const [typeName, fields] of Object.entries(mod.resolvers)) {
      const type = base.getType(typeName);
      if (!type) throw new CompositionError(show(file), `resolver for type ${typeName}, which the schema does not define`);
      if (isObjectType(type) || isInterfaceType(type)) {
        const defined = type.getFields();
        for (const field of Object.keys(fields as object)) {
          if (field.startsWith('__')) continue;
          if (!defined[field]) throw new CompositionError(show(file), `resolver for ${typeName}.${field}, which the schema does not define`);
        }
      } else if (isInputObjectType(type)) {
        throw new CompositionError(show(file), `resolver for input type ${typeName}`);
      }
    }
    for (const [i, loader] of (mod.loaders ?? []).entries()) {
      if (!isLoaderDefinition(loader)) throw new CompositionError(show(file), `loaders[${i}] is not a loader (declare it with defineLoader)`);
    }
    if (names) {
      for (const u of mod.upstreams ?? []) {
        if (!names.includes(u)) throw new CompositionError(show(file), `uses upstream "${u}", which is not configured`);
      }
      for (const loader of mod.loaders ?? []) {
        if (!names.includes(loader.upstream)) throw new CompositionError(show(file), `uses a loader of upstream "${loader.upstream}", which is not configured`);
      }
    }
    modules.push({ file: show(file), module: mod });
  }

  // A hand-written resolver wins over a binding on the same field.
  const handWritten = new Set(modules.flatMap((m) => Object.entries(m.module.resolvers).flatMap(([t, f]) => Object.keys(f as object).map((n) => `${t}.${n}`))));
  const bindings = new Bindings(specs);
  const bound: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    if (handWritten.has(spec.coordinate)) continue;
    const [type, field] = spec.coordinate.split('.') as [string, string];
    (bound[type] ??= {})[field] = bindings.get(spec.coordinate)!.resolve;
  }
  const schema = makeExecutableSchema({
    typeDefs: [ENGINE_DIRECTIVES, ...documents.map(withoutBindings)],
    resolvers: [bound as never, ...modules.map((m) => m.module.resolvers)],
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
  return { schema, sdl: printSchema(schema), modules, bindings };
}
