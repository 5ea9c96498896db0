/**
 * Demand control for GraphQL: operations deeper than `maxDepth`, with more aliases than
 * `maxAliases`, more directives than `maxDirectives` or a static cost above `maxCost` are refused
 * with HTTP 400 and the codes OPERATION_TOO_DEEP / TOO_MANY_ALIASES / TOO_MANY_DIRECTIVES /
 * OPERATION_TOO_COSTLY, before any resolver runs (so before any upstream call).
 *
 * Introspection answers from the schema alone, but one aliased `__schema` can repeat the whole
 * schema many times over, so it gets limits of its own (INTROSPECTION_TOO_COMPLEX): at most
 * `maxIntrospectionFields` `__schema` / `__type` fields, introspection lists nested no deeper
 * than the standard introspection query nests them, and no aliased introspection list.
 *
 * - Depth and aliases are measured on the parsed document before graphql-js validates it
 *   (a hostile document must not get to spend validation time); see src/limits/operation-shape.ts.
 * - Cost needs the request's variables (`users(ids: $ids)`), so it is estimated just before
 *   execution; see src/limits/operation-cost.ts for the model.
 * - `exposeCost` adds `extensions.cost = { estimated, max }` to every executed response.
 *
 * Measurements are memoised per parsed document (yoga caches parsed documents), except the
 * cost of an operation with variables, which is estimated per request.
 */
import { GraphQLError, getOperationAST, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { IntrospectionTooComplex, OperationTooCostly, OperationTooDeep, TooManyAliases, TooManyDirectives, type GatewayError } from '../errors.js';
import { INTROSPECTION_LIST_DEPTH, measureOperationShape, type OperationShape } from '../limits/operation-shape.js';
import { buildCostTable, estimateOperationCost, type CostTable } from '../limits/operation-cost.js';
import type { GatewayPlugin } from './types.js';

/** Options for {@link useDemandControl}. */
export interface DemandControlOptions {
  /** Deepest selection allowed (root fields are depth 1). @default unlimited */
  maxDepth?: number;
  /** Most aliased fields allowed in one operation. @default unlimited */
  maxAliases?: number;
  /** Most directives in one operation, fragments expanded. @default 50 */
  maxDirectives?: number;
  /** Most `__schema` / `__type` fields in one operation, fragments expanded. @default 2 */
  maxIntrospectionFields?: number;
  /** Highest static cost allowed. @default unlimited */
  maxCost?: number;
  /** `Type.field` → weight, overriding `@cost` and the defaults. @default {} */
  fieldCosts?: Record<string, number>;
  /** Report the estimated cost in `extensions.cost`. @default false */
  exposeCost?: boolean;
  /** The composed schema (for `@cost` and to check `fieldCosts` keys). */
  schema: GraphQLSchema;
}

/**
 * The refusal as a GraphQL error carrying its HTTP status for yoga. `spec: false` keeps the 400
 * for `application/json` clients too, where yoga would answer spec validation errors with 200.
 */
function rejection(err: GatewayError, extra: Record<string, unknown>): GraphQLError {
  return new GraphQLError(err.message, { extensions: { code: err.code, ...extra, http: { status: err.status, spec: false } } });
}

/** The first limit the shape breaks, or undefined. */
function shapeRejection(shape: OperationShape, l: { maxDepth?: number; maxAliases?: number; maxDirectives: number; maxIntrospectionFields: number }): GraphQLError | undefined {
  const { maxDepth, maxAliases, maxDirectives, maxIntrospectionFields } = l;
  if (shape.directives > maxDirectives) {
    return rejection(TooManyDirectives(shape.directives, maxDirectives), { directives: shape.directives, maxDirectives });
  }
  if (shape.introspectionFields > maxIntrospectionFields) {
    const what = `selects __schema/__type ${shape.introspectionFields} times, the limit is ${maxIntrospectionFields}`;
    return rejection(IntrospectionTooComplex(what), { introspectionFields: shape.introspectionFields, maxIntrospectionFields });
  }
  if (shape.introspectionListDepth > INTROSPECTION_LIST_DEPTH) {
    return rejection(IntrospectionTooComplex(`nests lists ${shape.introspectionListDepth} deep, the limit is ${INTROSPECTION_LIST_DEPTH}`), {});
  }
  if (shape.introspectionListAliased) return rejection(IntrospectionTooComplex('list fields may not be aliased'), {});
  if (maxDepth !== undefined && shape.depth > maxDepth) {
    return rejection(OperationTooDeep(shape.depth, maxDepth), { depth: shape.depth, maxDepth });
  }
  if (maxAliases !== undefined && shape.aliases > maxAliases) {
    return rejection(TooManyAliases(shape.aliases, maxAliases), { aliases: shape.aliases, maxAliases });
  }
  return undefined;
}

export function useDemandControl(opts: DemandControlOptions): GatewayPlugin {
  const { maxCost } = opts;
  const limits = { maxDepth: opts.maxDepth, maxAliases: opts.maxAliases, maxDirectives: opts.maxDirectives ?? 50, maxIntrospectionFields: opts.maxIntrospectionFields ?? 2 };
  const exposeCost = opts.exposeCost ?? false;
  const needCost = maxCost !== undefined || exposeCost;
  const table: CostTable | undefined = needCost ? buildCostTable(opts.schema, opts.fieldCosts ?? {}) : undefined;
  const shapes = new WeakMap<DocumentNode, OperationShape>();
  const costs = new WeakMap<DocumentNode, Map<string, number>>();

  const plugin: YogaPlugin = {
    onValidate({ params, setResult }) {
      const doc = params.documentAST;
      let shape = shapes.get(doc);
      if (!shape) shapes.set(doc, (shape = measureOperationShape(doc)));
      const refused = shapeRejection(shape, limits);
      if (refused) setResult([refused]);
    },
  };
  if (needCost) {
    plugin.onExecute = ({ args, setResultAndStopExecution }) => {
      const op = getOperationAST(args.document, args.operationName);
      if (!op) return;
      const cacheable = !op.variableDefinitions?.length;
      const opKey = op.name?.value ?? '';
      let cost = cacheable ? costs.get(args.document)?.get(opKey) : undefined;
      if (cost === undefined) {
        cost = estimateOperationCost(args.schema, table!, args.document, op, args.variableValues ?? undefined);
        if (cacheable) {
          let byOp = costs.get(args.document);
          if (!byOp) costs.set(args.document, (byOp = new Map()));
          byOp.set(opKey, cost);
        }
      }
      if (maxCost !== undefined && cost > maxCost) {
        setResultAndStopExecution({ errors: [rejection(OperationTooCostly(cost, maxCost), { cost, maxCost })] });
        return;
      }
      if (!exposeCost) return;
      const report = maxCost === undefined ? { estimated: cost } : { estimated: cost, max: maxCost };
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in (result as object)) return;
          const r = result as ExecutionResult;
          setResult({ ...r, extensions: { ...r.extensions, cost: report } });
        },
      };
    };
  }
  return { name: 'demand-control', yogaPlugins: [plugin] };
}
