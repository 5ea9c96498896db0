/**
 * src/graphql/direct-execution.ts runs envelop's context and execution hooks without envelop.
 * Property: for any list of plugins drawn from what hooks can do (extend the context, break its
 * building, return an after-hook, be asynchronous, replace the execute function, stop execution
 * with a result, rewrite the result when done), the direct run and envelop's own run (getEnveloped
 * → contextFactory → execute) call the same hooks in the same order and give the same result and
 * context.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse, buildSchema, type ExecutionArgs } from 'graphql';
import { envelop, type Plugin } from 'graphql-yoga';
import { DirectExecution, directExecutionBlockers } from '../../src/graphql/direct-execution.js';

type ContextMove = 'none' | 'extend' | 'extend-async' | 'after' | 'after-async' | 'break';
type ExecuteMove = 'none' | 'wrap' | 'extend' | 'stop' | 'stop-done' | 'async' | 'done' | 'done-async' | 'throw-extend';

const schema = buildSchema('type Query { a: Int }');
const document = parse('{ a }');

function plugins(spec: Array<[ContextMove, ExecuteMove]>, trace: string[]): Plugin[] {
  return spec.map(([c, e], i): Plugin => {
    const p: Plugin = {};
    if (c !== 'none') {
      p.onContextBuilding = ({ context, extendContext, breakContextBuilding }) => {
        trace.push(`ctx${i}:${Object.keys(context).sort().join(',')}`);
        if (c === 'extend') extendContext({ [`c${i}`]: i });
        if (c === 'break') breakContextBuilding();
        if (c === 'extend-async') return Promise.resolve().then(() => void extendContext({ [`c${i}`]: i }));
        if (c === 'after' || c === 'after-async') {
          return ({ extendContext: extendAfter }) => {
            trace.push(`after-ctx${i}`);
            if (c === 'after') extendAfter({ [`a${i}`]: i });
            else return Promise.resolve().then(() => void extendAfter({ [`a${i}`]: i })) as never;
          };
        }
        return undefined;
      };
    }
    if (e !== 'none') {
      p.onExecute = ({ executeFn, setExecuteFn, setResultAndStopExecution, extendContext, context }) => {
        trace.push(`exec${i}:${Object.keys(context).sort().join(',')}`);
        if (e === 'wrap') setExecuteFn(((args: ExecutionArgs) => ({ ...(executeFn(args) as object), [`w${i}`]: true })) as never);
        if (e === 'extend') extendContext({ [`e${i}`]: i });
        if (e === 'throw-extend') {
          try {
            extendContext(7 as never);
          } catch (err) {
            trace.push(`refused${i}:${(err as Error).message.slice(0, 30)}`);
          }
        }
        if (e === 'stop' || e === 'stop-done') setResultAndStopExecution({ data: { stoppedBy: i } });
        if (e === 'async') return Promise.resolve().then(() => ({ onExecuteDone: () => void trace.push(`done${i}`) }));
        if (e === 'done' || e === 'done-async' || e === 'stop-done') {
          return {
            onExecuteDone: ({ result, setResult }) => {
              trace.push(`done${i}:${JSON.stringify(result)}`);
              const next = { ...(result as object), [`d${i}`]: true };
              if (e !== 'done-async') setResult(next);
              else return Promise.resolve().then(() => void setResult(next)) as never;
            },
          };
        }
        return undefined;
      };
    }
    return p;
  });
}

/** The engine both runs use (set as yoga's engine plugin sets it): it reports which context keys it saw. */
function engine(trace: string[]): Plugin {
  const execute = (args: ExecutionArgs) => {
    const keys = Object.keys(args.contextValue as object).sort().join(',');
    trace.push(`execute:${keys}`);
    return { data: { keys } };
  };
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(execute as never);
    },
  };
}

const moves = fc.tuple(
  fc.constantFrom<ContextMove>('none', 'extend', 'extend-async', 'after', 'after-async', 'break'),
  fc.constantFrom<ExecuteMove>('none', 'wrap', 'extend', 'stop', 'stop-done', 'async', 'done', 'done-async', 'throw-extend'),
);

describe('direct execution against envelop', () => {
  it('same hooks, same order, same result and context, for any plugin list', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(moves, { maxLength: 6 }), async (spec) => {
        const viaEnvelop: string[] = [];
        const getEnveloped = envelop({ plugins: [engine(viaEnvelop), ...plugins(spec, viaEnvelop)] });
        const ctxA: Record<string, unknown> = { gw: 1 };
        const enveloped = getEnveloped(ctxA);
        const contextValue = await enveloped.contextFactory();
        const a = await enveloped.execute({ schema, document, contextValue, variableValues: { v: 1 }, operationName: undefined });

        const direct: string[] = [];
        const list = envelop({ plugins: [engine(direct), ...plugins(spec, direct)] })._plugins;
        expect(directExecutionBlockers(list)).toEqual([]);
        const ctxB: Record<string, unknown> = { gw: 1 };
        const b = await new DirectExecution(list).run(ctxB, schema, document, { v: 1 }, undefined);

        expect(direct).toEqual(viaEnvelop);
        expect(b).toEqual(a);
        expect(ctxB).toEqual(ctxA);
      }),
      { numRuns: 300 },
    );
  });

  it('stays synchronous when every hook is', () => {
    const trace: string[] = [];
    const list = envelop({ plugins: [engine(trace), ...plugins([['extend', 'wrap'], ['after', 'done']], trace)] })._plugins;
    const out = new DirectExecution(list).run({}, schema, document, undefined, undefined);
    expect(out).not.toBeInstanceOf(Promise);
    expect(out).toEqual({ data: { keys: 'a1,c0' }, w0: true, d1: true });
  });

  it('a plugin with onEnveloped or instrumentation is reported as a blocker', () => {
    expect(directExecutionBlockers([{}, { onEnveloped: () => undefined }, { instrumentation: {} }])).toEqual(['plugin #1 has onEnveloped', 'plugin #2 has instrumentation']);
  });
});
