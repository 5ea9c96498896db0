/**
 * Bound fields at run time: one resolver per binding, built at composition, calling the same
 * upstream clients as hand-written resolvers (so deadline, breaker, retries, balancing, tracing,
 * metrics and identity headers apply unchanged).
 *
 * Batched bindings load through per-request DataLoaders, one per batch endpoint and per set of
 * non-key template values, so one operation makes one call per batch endpoint per level, each
 * key once. They hang off the request context and die with it.
 */
import DataLoader from 'dataloader';
import type { GraphQLFieldResolver } from 'graphql';
import { UpstreamError } from '../../errors.js';
import type { RequestContext } from '../../context.js';
import type { Upstreams } from '../../upstream/create-upstreams.js';
import { encodedUpstreamPath } from '../../upstream/http/path-template.js';
import type { BindingSpec, BatchSpec } from './compile.js';
import { encodeComponent, evaluateRef, readPath, renderHeader, renderJson, renderPath, type TemplateInput } from './template.js';
import { mapObject, selectIn } from './mapping.js';

/** What a bound call needs of the GraphQL context. */
interface BindingContext {
  gw: RequestContext;
  upstreams: Upstreams;
}

/** One request to an upstream, every template filled in except the batch keys. */
interface Shaped {
  path: string;
  headers: Record<string, string> | undefined;
  payload: unknown;
}

/** Loaders of one request, by endpoint and shape (see `gw.loaders`). */
type LoaderTable = Map<string, DataLoader<string, unknown>>;

/** Loader tables per endpoint, shared by the bindings that call the same endpoint the same way. */
class Endpoint {
  constructor(readonly id: string) {}
}

export class BoundField {
  readonly spec: BindingSpec;
  readonly #endpoint: Endpoint;
  /** The GraphQL resolver of the field. */
  readonly resolve: GraphQLFieldResolver<unknown, BindingContext>;

  constructor(spec: BindingSpec, endpoint: Endpoint) {
    this.spec = spec;
    this.#endpoint = endpoint;
    this.resolve = (parent, args, ctx) => this.load(ctx, parent, args as Record<string, unknown>);
  }

  /** Resolves the field for `parent` / `args`, as its resolver would. */
  load(ctx: BindingContext, parent: unknown, args: Record<string, unknown>): Promise<unknown> | unknown {
    const input: TemplateInput = { args, parent, identity: ctx.gw.identity };
    const batch = this.spec.batch;
    if (!batch) return this.#single(ctx, input);
    const keyValue = evaluateRef(batch.key, input);
    if (keyValue === null) return batch.many ? [] : null;
    const loader = this.#loader(ctx, input, batch);
    if (batch.keyIsList) {
      if (!Array.isArray(keyValue)) return null;
      // A failed key comes back as an Error in its slot; graphql-js reports it at that index.
      return loader.loadMany(keyValue.map(String));
    }
    return loader.load(String(keyValue));
  }

  #shape(input: TemplateInput): Shaped {
    const spec = this.spec;
    let headers: Record<string, string> | undefined;
    for (const h of spec.headers) {
      const value = renderHeader(h, input, spec.coordinate);
      if (value !== undefined) (headers ??= {})[h.name] = value;
    }
    return {
      path: spec.path ? renderPath(spec.path, input, spec.coordinate) : '',
      headers,
      payload: spec.payload ? renderJson(spec.payload, input) : undefined,
    };
  }

  async #single(ctx: BindingContext, input: TemplateInput): Promise<unknown> {
    const spec = this.spec;
    const answer = await this.#call(ctx, this.#shape(input));
    const selected = selectIn(answer, spec.mapping.select);
    if (selected === undefined || selected === null) return null;
    if (spec.returnsList) {
      if (!Array.isArray(selected)) throw UpstreamError(spec.upstream, `a non-list where ${spec.coordinate} expects a list`);
      return spec.mapping.renames.length ? selected.map((i) => mapObject(i, spec.mapping.renames)) : selected;
    }
    return mapObject(selected, spec.mapping.renames);
  }

  #loader(ctx: BindingContext, input: TemplateInput, batch: BatchSpec): DataLoader<string, unknown> {
    const gw = ctx.gw;
    const all = (gw.loaders ??= new Map());
    let table = all.get(this.#endpoint) as LoaderTable | undefined;
    if (!table) all.set(this.#endpoint, (table = new Map()));
    // Bindings without other references than the key have one shape: no key to compute.
    // The loader's identity is the values the shape reads, not the rendered shape: rendered only
    // when a new loader is made.
    const refs = this.spec.shapeRefs;
    let shapeKey = '';
    for (let i = 0; i < refs.length; i++) shapeKey += (i ? '\u0000' : '') + JSON.stringify(evaluateRef(refs[i]!, input) ?? null);
    let loader = table.get(shapeKey);
    if (!loader) {
      const shape = this.#shape(input);
      loader = new DataLoader<string, unknown>((keys) => this.#batch(ctx, shape, batch, keys), { maxBatchSize: batch.maxSize });
      table.set(shapeKey, loader);
    }
    return loader;
  }

  async #batch(ctx: BindingContext, shape: Shaped, batch: BatchSpec, keys: readonly string[]): Promise<unknown[]> {
    const spec = this.spec;
    let call = shape;
    const param = encodeURIComponent(batch.param);
    switch (batch.form) {
      case 'QUERY':
        call = { ...shape, path: appendQuery(shape.path, `${param}=${keys.map(encodeComponent).join(',')}`) };
        break;
      case 'REPEATED_QUERY':
        call = { ...shape, path: appendQuery(shape.path, keys.map((k) => `${param}=${encodeComponent(k)}`).join('&')) };
        break;
      default: {
        // An object, or absent (composition refuses another shape).
        const payload = shape.payload !== undefined ? { ...(shape.payload as object) } : {};
        (payload as Record<string, unknown>)[batch.param] = keys;
        call = { ...shape, payload };
      }
    }
    const answer = await this.#call(ctx, call);
    const selected = selectIn(answer, spec.mapping.select);
    const items = Array.isArray(selected) ? selected : [];
    if (selected !== undefined && selected !== null && !Array.isArray(selected)) throw UpstreamError(spec.upstream, `a non-list where the batch of ${spec.coordinate} expects a list`);
    const found = new Map<string, unknown>();
    for (const raw of items) {
      const item = mapObject(raw, spec.mapping.renames);
      const k = readPath(item, [batch.matchOn]);
      if (k === undefined || k === null) continue;
      const key = String(k);
      if (batch.many) {
        const list = found.get(key) as unknown[] | undefined;
        if (list) list.push(item);
        else found.set(key, [item]);
      } else if (!found.has(key)) found.set(key, item);
    }
    return keys.map((k) => found.get(k) ?? (batch.many ? [] : null));
  }

  #call(ctx: BindingContext, call: Shaped): Promise<unknown> {
    const spec = this.spec;
    if (spec.protocol === 'grpc') return ctx.upstreams.grpc(spec.upstream).unary(ctx.gw, spec.method, call.payload ?? {});
    return ctx.upstreams.http(spec.upstream).json(ctx.gw, spec.method, encodedUpstreamPath(call.path), call.payload, call.headers);
  }
}

function appendQuery(path: string, query: string): string {
  if (!query) return path;
  return path + (path.includes('?') ? '&' : '?') + query;
}

/**
 * The composed schema's bindings, by coordinate (`Type.field`): resolvers that need a bound
 * field's value (e.g. a total over the products of an order) load it here and share its batch.
 */
export class Bindings {
  readonly #fields = new Map<string, BoundField>();

  constructor(specs: readonly BindingSpec[]) {
    const endpoints = new Map<string, Endpoint>();
    for (const spec of specs) {
      let e = endpoints.get(spec.endpointId);
      if (!e) endpoints.set(spec.endpointId, (e = new Endpoint(spec.endpointId)));
      this.#fields.set(spec.coordinate, new BoundField(spec, e));
    }
  }

  get(coordinate: string): BoundField | undefined {
    return this.#fields.get(coordinate);
  }

  /**
   * The value of a bound field for this parent and these arguments, through the same batch as
   * the field itself (one call for both). Throws for a coordinate without a binding.
   */
  load(ctx: BindingContext, coordinate: string, input: { parent?: unknown; args?: Record<string, unknown> } = {}): Promise<unknown> {
    const f = this.#fields.get(coordinate);
    if (!f) throw new Error(`no binding for ${coordinate}`);
    return Promise.resolve(f.load(ctx, input.parent, input.args ?? {}));
  }
}

/** An empty set, for gateways built from a schema without bindings. */
export const NO_BINDINGS = new Bindings([]);
