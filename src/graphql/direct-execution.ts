/**
 * Context building and execution of a prepared operation without envelop's per-request
 * orchestration (issue 23's executor pipeline). The direct GraphQL path (fast-path.ts) goes
 * through envelop the first time it sees a document text; a later request with the same text
 * comes here.
 *
 * The same hooks run, in the same order: every plugin's `onContextBuilding` (and what it returns
 * to run after the others), then every `onExecute`, the execute function they leave in place, and
 * each `onExecuteDone`. The payloads have the fields and setters envelop 5 gives them. The
 * difference is how: one state object per request instead of fresh closures per hook call, a
 * plain loop instead of envelop's promise helpers, and no `getEnveloped` per request. A hook that
 * returns a promise is awaited, and the loop goes on from the next hook.
 *
 * envelop features this does not reproduce switch it off as a whole, at construction
 * ({@link directExecutionBlockers}): `onEnveloped` hooks (they see each request's initial
 * context) and `instrumentation` (it wraps each phase).
 */
import type { DocumentNode, ExecutionArgs, GraphQLSchema } from 'graphql';

type Hook = (payload: never) => unknown;
type AfterContext = (payload: { context: Record<string, unknown>; extendContext: (e: object) => void }) => unknown;
type AfterExecute = { onExecuteDone?: (payload: ExecuteDonePayload) => unknown };

/** The plugin fields this module reads (envelop's Plugin, reduced to them). */
export interface EnvelopPluginHooks {
  onContextBuilding?: unknown;
  onExecute?: unknown;
  onEnveloped?: unknown;
  instrumentation?: unknown;
}

/** Why the plugins cannot run without envelop; empty when they can. */
export function directExecutionBlockers(plugins: readonly EnvelopPluginHooks[]): string[] {
  const out: string[] = [];
  plugins.forEach((p, i) => {
    if (p.onEnveloped) out.push(`plugin #${i} has onEnveloped`);
    if (p.instrumentation) out.push(`plugin #${i} has instrumentation`);
  });
  return out;
}

interface ExecuteDonePayload {
  args: ExecutionArgs;
  result: unknown;
  setResult: (r: unknown) => void;
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** Stands where envelop starts before a plugin sets the engine's execute function. */
function noExecuteFunction(): never {
  throw new Error('No `execute` function found! Register it using "useEngine" plugin.');
}

/**
 * One request's run. Its setters are bound once here (plugins destructure them from the payload)
 * and the payloads are reused from hook to hook.
 */
class Run {
  readonly context: Record<string, unknown>;
  readonly args: ExecutionArgs;
  executeFn: (args: ExecutionArgs) => unknown = noExecuteFunction;
  result: unknown = undefined;
  stop = false;
  readonly afterContext: AfterContext[] = [];
  readonly afterExecute: AfterExecute[] = [];

  readonly extendContext = (extension: object): void => {
    Object.assign(this.context, extension);
  };
  readonly breakContextBuilding = (): void => {
    this.stop = true;
  };
  readonly setExecuteFn = (fn: (args: ExecutionArgs) => unknown): void => {
    this.executeFn = fn;
  };
  readonly setResultAndStopExecution = (result: unknown): void => {
    this.result = result;
    this.stop = true;
  };
  readonly setResult = (result: unknown): void => {
    this.result = result;
  };
  /** envelop checks what onExecute's extendContext is given. */
  readonly extendExecutionContext = (extension: unknown): void => {
    if (typeof extension !== 'object') {
      throw new Error(`Invalid context extension provided! Expected "object", got: "${JSON.stringify(extension)}" (${typeof extension})`);
    }
    Object.assign(this.context, extension);
  };

  constructor(context: Record<string, unknown>, schema: GraphQLSchema, document: DocumentNode, variableValues: ExecutionArgs['variableValues'], operationName: string | undefined) {
    this.context = context;
    this.args = { schema, document, contextValue: context, variableValues, operationName };
  }
}

/** The hooks of one plugin list, collected once. */
export class DirectExecution {
  readonly #contextHooks: Hook[];
  readonly #executeHooks: Hook[];

  constructor(plugins: readonly EnvelopPluginHooks[]) {
    this.#contextHooks = plugins.flatMap((p) => (typeof p.onContextBuilding === 'function' ? [p.onContextBuilding as Hook] : []));
    this.#executeHooks = plugins.flatMap((p) => (typeof p.onExecute === 'function' ? [p.onExecute as Hook] : []));
  }

  /**
   * Builds the context from `initial` (which becomes it, as in envelop) and executes the operation:
   * the result, or a promise of it when a hook or the execution is asynchronous.
   */
  run(initial: Record<string, unknown>, schema: GraphQLSchema, document: DocumentNode, variableValues: ExecutionArgs['variableValues'], operationName: string | undefined): unknown {
    const run = new Run(initial, schema, document, variableValues, operationName);
    return this.#context(run, 0);
  }

  #context(run: Run, from: number): unknown {
    const hooks = this.#contextHooks;
    const payload = { context: run.context, extendContext: run.extendContext, breakContextBuilding: run.breakContextBuilding };
    for (let i = from; i < hooks.length; i++) {
      const out = hooks[i]!(payload as never);
      if (isPromiseLike(out)) {
        return Promise.resolve(out).then((after) => {
          if (after) run.afterContext.push(after as AfterContext);
          return run.stop ? this.#afterContext(run, 0, true) : this.#context(run, i + 1);
        });
      }
      if (out) run.afterContext.push(out as AfterContext);
      if (run.stop) return this.#afterContext(run, 0, true);
    }
    return this.#afterContext(run, 0, false);
  }

  #afterContext(run: Run, from: number, broken: boolean): unknown {
    // After a break, envelop runs none of the after-context hooks.
    if (!broken) {
      const after = run.afterContext;
      const payload = { context: run.context, extendContext: run.extendContext };
      for (let i = from; i < after.length; i++) {
        const out = after[i]!(payload);
        if (isPromiseLike(out)) return Promise.resolve(out).then(() => this.#afterContext(run, i + 1, false));
      }
    }
    run.stop = false;
    return this.#execute(run, 0);
  }

  #execute(run: Run, from: number): unknown {
    const hooks = this.#executeHooks;
    const payload = {
      executeFn: run.executeFn,
      setExecuteFn: run.setExecuteFn,
      setResultAndStopExecution: run.setResultAndStopExecution,
      context: run.context,
      extendContext: run.extendExecutionContext,
      args: run.args,
    };
    for (let i = from; i < hooks.length; i++) {
      payload.executeFn = run.executeFn;
      const out = hooks[i]!(payload as never);
      if (isPromiseLike(out)) {
        return Promise.resolve(out).then((after) => {
          if (after) run.afterExecute.push(after as AfterExecute);
          return run.stop ? this.#call(run) : this.#execute(run, i + 1);
        });
      }
      if (out) run.afterExecute.push(out as AfterExecute);
      if (run.stop) break;
    }
    return this.#call(run);
  }

  #call(run: Run): unknown {
    // As envelop: a result set by a hook (setResultAndStopExecution) stands in for the execution.
    const result = run.result || run.executeFn(run.args);
    if (isPromiseLike(result)) return Promise.resolve(result).then((r) => this.#done(run, r, 0));
    return this.#done(run, result, 0);
  }

  #done(run: Run, result: unknown, from: number): unknown {
    run.result = result;
    const after = run.afterExecute;
    const payload: ExecuteDonePayload = { args: run.args, result, setResult: run.setResult };
    for (let i = from; i < after.length; i++) {
      const hook = after[i]!.onExecuteDone;
      if (!hook) continue;
      payload.result = run.result;
      const out = hook(payload);
      // What an onExecuteDone returns (onNext/onEnd) concerns streamed results, which the direct path refuses.
      if (isPromiseLike(out)) return Promise.resolve(out).then(() => this.#done(run, run.result, i + 1));
    }
    return run.result;
  }
}
