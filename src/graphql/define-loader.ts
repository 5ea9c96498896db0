/**
 * Batch loaders, declared by the domain next to the upstream they call
 * (`upstreams/<name>/loaders.ts`) or next to the resolvers that use them, and listed by the
 * resolver modules that use them (`defineResolvers({ loaders: [...] })`) so composition can check
 * their upstreams. Each request gets its own DataLoader per definition, created on first use and
 * dropped with the request: nothing one caller loaded is served to another.
 */
import DataLoader from 'dataloader';
import type { RequestContext } from '../context.js';
import type { Upstreams } from '../upstream/create-upstreams.js';

/** What a batch function receives besides its keys. */
export interface LoaderContext {
  /** The request: identity, deadline, request id. */
  gw: RequestContext;
  upstreams: Upstreams;
}

export interface LoaderSpec<K, V> {
  /** The upstream this loader calls (checked against the config at composition). */
  upstream: string;
  /** Loads every key of one tick in one call; the result has one entry per key, in key order (an Error fails that key). */
  batch(keys: readonly K[], ctx: LoaderContext): Promise<ReadonlyArray<V | Error>>;
  /** Most keys per upstream call. @default unlimited */
  maxBatchSize?: number;
}

export interface LoaderDefinition<K, V> {
  readonly upstream: string;
  /** This request's DataLoader for the definition. */
  of(ctx: LoaderContext): DataLoader<K, V>;
}

/** Marks definitions across module copies (a TypeScript domain file next to the compiled engine). */
const LOADER = Symbol.for('gateway.loader');

class Definition<K, V> implements LoaderDefinition<K, V> {
  readonly [LOADER] = true;
  readonly upstream: string;
  readonly #spec: LoaderSpec<K, V>;

  constructor(spec: LoaderSpec<K, V>) {
    this.upstream = spec.upstream;
    this.#spec = spec;
  }

  of(ctx: LoaderContext): DataLoader<K, V> {
    const gw = ctx.gw;
    const cache = (gw.loaders ??= new Map());
    let loader = cache.get(this) as DataLoader<K, V> | undefined;
    if (!loader) {
      const spec = this.#spec;
      const lctx: LoaderContext = { gw, upstreams: ctx.upstreams };
      loader = new DataLoader<K, V>((keys) => spec.batch(keys, lctx), spec.maxBatchSize ? { maxBatchSize: spec.maxBatchSize } : undefined);
      cache.set(this, loader);
    }
    return loader;
  }
}

export function defineLoader<K, V>(spec: LoaderSpec<K, V>): LoaderDefinition<K, V> {
  return new Definition(spec);
}

export function isLoaderDefinition(value: unknown): value is LoaderDefinition<unknown, unknown> {
  return !!value && typeof value === 'object' && (value as Record<symbol, unknown>)[LOADER] === true;
}
