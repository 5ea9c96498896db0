/**
 * CPU per resolution of a rate-limited GraphQL field (`rateLimit.fields` / `@rateLimit`) counted
 * in memory, measured with process.cpuUsage (a shared machine disturbs it far less than wall time):
 *
 *   node bin/tsx.js bench/field-limit-cost.ts [--items 1000] [--runs 200] [--rounds 5] [--algorithm fixed-window]
 *
 * 1. resolver: the wrapped resolver alone, called as graphql-js calls it (a promise it returns
 *    is awaited), over 50 clients.
 * 2. execute: `{ items { name } }` through graphql-js `execute`, `--items` items each resolving
 *    the limited `Item.name`; the same query on the unlimited schema is subtracted.
 * Median of `--rounds` rounds, in ns per resolution. Windows are large enough never to refuse.
 */
import { buildSchema, execute, parse, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import type { RateAlgorithm } from '../src/config/schema.js';
import type { RequestContext } from '../src/context.js';
import { applyFieldLimits, createFieldLimiters } from '../src/limits/field-limits.js';
import { LimiterStore } from '../src/limits/limiter-store.js';
import { createLogger } from '../src/telemetry/logger.js';
import { numberArg } from './harness.js';

const itemCount = numberArg('items', 1000);
const runs = numberArg('runs', 200);
const rounds = numberArg('rounds', 5);
const algorithmAt = process.argv.indexOf('--algorithm');
const algorithm = (algorithmAt === -1 ? 'fixed-window' : process.argv[algorithmAt + 1]) as RateAlgorithm;

const items = Array.from({ length: itemCount }, (_, i) => ({ id: String(i), name: `item ${i}` }));
const plain = buildSchema('type Query { items: [Item!]! } type Item { id: ID! name: String }');
(plain.getQueryType()!.getFields().items!).resolve = () => items;

const store = new LimiterStore({ logger: createLogger({ level: 'silent' }) });
const limiters = createFieldLimiters(store, new Map([['Item.name', { points: 1_000_000_000, durationSec: 600, algorithm }]]));
const limited = applyFieldLimits(plain, limiters);
const contexts = Array.from({ length: 50 }, (_, i) => ({ gw: { ip: `10.0.0.${i}`, identity: undefined } as unknown as RequestContext }));
const query = parse('{ items { name } }');

function cpuNs(): () => number {
  const t = process.cpuUsage();
  return () => {
    const u = process.cpuUsage(t);
    return (u.user + u.system) * 1000;
  };
}

async function resolverRound(): Promise<number> {
  const field = (limited.getType('Item') as GraphQLObjectType).getFields().name!;
  const resolve = field.resolve as GraphQLFieldResolver<unknown, unknown>;
  const n = runs * itemCount;
  const info = { fieldName: 'name' } as never;
  const stop = cpuNs();
  for (let i = 0; i < n; i++) {
    const r = resolve(items[i % itemCount], {}, contexts[i % 50], info);
    if (r instanceof Promise) await r;
  }
  return stop() / n;
}

async function executeRound(schema: GraphQLSchema): Promise<number> {
  const stop = cpuNs();
  for (let i = 0; i < runs; i++) {
    const r = execute({ schema, document: query, contextValue: contexts[i % 50] });
    const done = r instanceof Promise ? await r : r;
    if (done.errors) throw done.errors[0];
  }
  return stop() / (runs * itemCount);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
// Warm-up: let V8 optimise each path before measuring.
await resolverRound();
await executeRound(plain);
await executeRound(limited);
const resolver: number[] = [];
const withLimit: number[] = [];
const without: number[] = [];
for (let r = 0; r < rounds; r++) {
  resolver.push(await resolverRound());
  without.push(await executeRound(plain));
  withLimit.push(await executeRound(limited));
}
await store.close();
console.log(`field limit in memory (${algorithm}), ${itemCount} items × ${runs} runs, median of ${rounds}, node ${process.version}`);
console.log(`resolver alone: ${Math.round(median(resolver))} ns per resolution`);
console.log(`execute: ${Math.round(median(withLimit))} ns per resolution with the limit, ${Math.round(median(without))} ns without; the limit adds ${Math.round(median(withLimit) - median(without))} ns`);
