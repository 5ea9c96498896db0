/**
 * What writing a GraphQL answer's JSON costs: JSON.stringify against graphql-jit's compiled
 * serializer (`customJSONSerializer`, a fast-json-stringify function built from the operation's
 * selection), on the real answers of S1 and S2 (the peers' domain executed once against the demo
 * upstreams). Prints ns per answer, median of rounds, and checks both give the same bytes.
 *
 *   node bin/tsx.js bench/serializer.ts [--rounds 7] [--iterations 20000]
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { createDomain, typeDefs } from './peers/domain.js';
import { median, numberArg, spawnNode } from './harness.js';
import { S1_QUERY, S2_QUERY } from './scenarios.js';

const rounds = numberArg('rounds', 7);
const iterations = numberArg('iterations', 20000);
const up = await spawnNode(['bin/tsx.js', 'bench/upstreams-main.ts'], (l) => l.msg === 'demo upstreams listening', {}, true);
const domain = createDomain({ users: up.line.users, orders: up.line.orders, catalog: up.line.catalog });
const schema = makeExecutableSchema({ typeDefs: typeDefs(), resolvers: domain.resolvers as never });

for (const [name, query] of [['S1', S1_QUERY], ['S2', S2_QUERY]] as const) {
  const compiled = compileQuery(schema, parse(query), undefined, { customJSONSerializer: true });
  if (!isCompiledQuery(compiled)) throw new Error(`${name} did not compile`);
  const result = await compiled.query(undefined, { loaders: domain.loaders() }, {});
  if (result.errors) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
  const plain = JSON.stringify(result);
  if (compiled.stringify(result) !== plain) throw new Error(`${name}: the compiled serializer wrote other bytes`);
  const time = (fn: (v: unknown) => string): number => {
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) bytes += fn(result).length;
    const ns = Number(process.hrtime.bigint() - t0) / iterations;
    if (bytes === 0) throw new Error('nothing written');
    return ns;
  };
  const native: number[] = [];
  const jit: number[] = [];
  for (let r = 0; r < rounds; r++) {
    native.push(time(JSON.stringify));
    jit.push(time(compiled.stringify));
  }
  console.log(JSON.stringify({ scenario: name, bytes: plain.length, jsonStringifyNs: Math.round(median(native)), compiledNs: Math.round(median(jit)), native: native.map(Math.round), compiled: jit.map(Math.round) }));
}
await domain.close();
up.child.kill('SIGTERM');
process.exit(0);
