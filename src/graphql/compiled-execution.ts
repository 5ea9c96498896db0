/**
 * Compiled execution (`graphql.jit`): queries and mutations run through graphql-jit instead of
 * graphql-js's interpreter. An operation is compiled once per (schema, parsed document,
 * operation name) and kept as long as yoga's document cache keeps that document (the maps
 * below are weak), so a hot query is executed by straight-line code with no AST walk.
 *
 * It is an envelop plugin, so every other hook (demand control, field limits, tracing,
 * metrics, error masking) sees the same arguments and results as with graphql-js. An operation
 * graphql-jit refuses to compile (no operation to run, an unsupported construct) and every
 * subscription keep the default executor, which answers exactly as graphql-js does.
 */
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { getOperationAST, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';

/**
 * A compiled operation with its executor, built once (no closure per request); `null`:
 * graphql-jit declined the operation and the default executor runs it.
 */
type Compiled = { query: CompiledQuery; execute: (args: ExecutionArgs) => ReturnType<CompiledQuery['query']> } | null;

const compiledBySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Compiled>>>();
const ANONYMOUS = '\u0000';

/** The compiled form of one operation, compiling it on first use. */
export function compiledOperation(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): Compiled {
  let byDocument = compiledBySchema.get(schema);
  if (!byDocument) compiledBySchema.set(schema, (byDocument = new WeakMap()));
  let byName = byDocument.get(document);
  if (!byName) byDocument.set(document, (byName = new Map()));
  const key = operationName ?? ANONYMOUS;
  let compiled = byName.get(key);
  if (compiled === undefined) {
    compiled = compile(schema, document, operationName ?? undefined);
    byName.set(key, compiled);
  }
  return compiled;
}

function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Compiled {
  const op = getOperationAST(document, operationName);
  if (!op || op.operation === 'subscription') return null;
  try {
    const out = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true });
    if (!isCompiledQuery(out)) return null;
    return { query: out, execute: (args) => out.query(args.rootValue, args.contextValue, args.variableValues ?? undefined) };
  } catch {
    return null;
  }
}

export function useCompiledExecution(): YogaPlugin {
  return {
    onExecute({ args, setExecuteFn }) {
      const compiled = compiledOperation(args.schema, args.document, args.operationName);
      if (compiled) setExecuteFn(compiled.execute as never);
    },
  };
}
