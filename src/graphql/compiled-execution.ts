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
 *
 * An operation executed often enough also gets a compiled response serializer (graphql-jit's
 * `customJSONSerializer`, a fast-json-stringify function generated from the selection), which
 * the direct path uses to write a result that is `data` alone (see {@link responseSerializer}).
 */
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import {
  TypeInfo,
  getNamedType,
  getOperationAST,
  isAbstractType,
  isScalarType,
  specifiedScalarTypes,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';

/** Writes one result's JSON. */
export type ResultSerializer = (result: ExecutionResult) => string;

/**
 * A compiled operation with its executor, built once (no closure per request); `null`:
 * graphql-jit declined the operation and the default executor runs it. `uses` counts the
 * serializer lookups; `serializer` is built at {@link SERIALIZER_AFTER} of them (`null`: this
 * operation cannot have one).
 */
type Compiled = {
  query: CompiledQuery;
  execute: (args: ExecutionArgs) => ReturnType<CompiledQuery['query']>;
  uses: number;
  serializer: ResultSerializer | null | undefined;
} | null;

/**
 * Answers an operation must have written before it gets a compiled serializer: building one
 * costs about as much as compiling the operation again (~1 ms), which a document sent once (or a
 * flood of distinct documents) should not pay.
 */
export const SERIALIZER_AFTER = 2;

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
    return {
      query: out,
      execute: (args) => out.query(args.rootValue, args.contextValue, args.variableValues ?? undefined),
      uses: 0,
      serializer: undefined,
    };
  } catch {
    return null;
  }
}

/**
 * The compiled serializer of an operation already compiled for execution, or undefined (not
 * compiled, not used often enough yet, or one that cannot have a serializer). Never compiles an
 * operation itself, so with `graphql.jit` off it always answers undefined.
 */
export function responseSerializer(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): ResultSerializer | undefined {
  const compiled = compiledBySchema.get(schema)?.get(document)?.get(operationName ?? ANONYMOUS);
  if (!compiled) return undefined;
  if (compiled.serializer !== undefined) return compiled.serializer ?? undefined;
  if (++compiled.uses < SERIALIZER_AFTER) return undefined;
  compiled.serializer = buildSerializer(schema, document, operationName ?? undefined);
  return compiled.serializer ?? undefined;
}

const BUILT_IN_SCALARS = new Set(specifiedScalarTypes.map((t) => t.name));

/**
 * graphql-jit's serializer for one operation, or null where its output could differ from
 * JSON.stringify's: a selection on an interface or union (its schema merges the possible types'
 * fields, so key order and a response name's type could differ from the object actually
 * returned) or a custom scalar (any JSON value). The serializer writes a result that holds
 * `data` alone; anything else (errors, extensions) is written by JSON.stringify.
 */
export function buildSerializer(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): ResultSerializer | null {
  if (!plainSelections(schema, document)) return null;
  try {
    const out = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true, customJSONSerializer: true });
    if (!isCompiledQuery(out)) return null;
    const write = out.stringify;
    return (result) => (result.errors === undefined && result.extensions === undefined && result.data != null ? write(result) : JSON.stringify(result));
  } catch {
    return null;
  }
}

/** True when every field the document selects has an object, list of object or built-in scalar or enum type. */
function plainSelections(schema: GraphQLSchema, document: DocumentNode): boolean {
  const info = new TypeInfo(schema);
  let plain = true;
  visit(
    document,
    visitWithTypeInfo(info, {
      Field() {
        const type = info.getType();
        if (!type) return;
        const named = getNamedType(type);
        if (isAbstractType(named) || (isScalarType(named) && !BUILT_IN_SCALARS.has(named.name))) plain = false;
      },
      InlineFragment() {
        const t = info.getType();
        if (t && isAbstractType(getNamedType(t))) plain = false;
      },
    }),
  );
  return plain;
}

export function useCompiledExecution(): YogaPlugin {
  return {
    onExecute({ args, setExecuteFn }) {
      const compiled = compiledOperation(args.schema, args.document, args.operationName);
      if (compiled) setExecuteFn(compiled.execute as never);
    },
  };
}
