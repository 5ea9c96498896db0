/**
 * Compiles every `@http` / `@grpc` binding of the team's SDL once, at composition: templates are
 * parsed, every reference, upstream, gRPC method, request field, mapped field and batch key is
 * checked against the composed schema, the config and the proto. A problem is a
 * CompositionError naming the file, line and column of the directive argument at fault.
 */
import {
  Kind, getLocation, visit, getNamedType, getNullableType, isEnumType, isListType, isObjectType, isInterfaceType, isScalarType, valueFromAST,
  type ASTNode, type ArgumentNode, type DirectiveNode, type DocumentNode, type ObjectTypeDefinitionNode, type ObjectTypeExtensionNode, type GraphQLField, type GraphQLInputType,
  type GraphQLObjectType, type GraphQLSchema, type ObjectValueNode,
} from 'graphql';
import { resolve } from 'node:path';
import { CompositionError } from '../composition-error.js';
import { unwritableHeader } from '../../http/reserved-headers.js';
import { BINDING_ARGUMENTS, BINDING_DIRECTIVES } from './declarations.js';
import { TemplateError, parseHeader, parseJsonTemplate, parsePath, parseRef, refsOfJson, type ConfigLookup, type HeaderTemplate, type JsonTemplate, type PathTemplate, type Ref } from './template.js';
import { parseRename, parseSelect, type ResponseMapping } from './mapping.js';
import { checkRequestShape, fieldOf, loadProtoService, type ProtoService } from './proto-info.js';
import { refProblem, refType } from './reference-checks.js';

export type BatchForm = 'QUERY' | 'REPEATED_QUERY' | 'BODY_FIELD' | 'REQUEST_FIELD';

export interface BatchSpec {
  readonly form: BatchForm;
  readonly param: string;
  readonly key: Ref;
  /** Every element of the key's list value is one key (a list field such as `users(ids:)`). */
  readonly keyIsList: boolean;
  readonly matchOn: string;
  readonly many: boolean;
  readonly maxSize: number;
}

/** One bound field, ready to build its resolver. */
export interface BindingSpec {
  /** `Type.field`. */
  readonly coordinate: string;
  readonly upstream: string;
  readonly protocol: 'http' | 'grpc';
  readonly method: string;
  readonly path: PathTemplate | undefined;
  readonly headers: readonly HeaderTemplate[];
  /** HTTP body or gRPC request. */
  readonly payload: JsonTemplate | undefined;
  readonly batch: BatchSpec | undefined;
  readonly mapping: ResponseMapping;
  readonly returnsList: boolean;
  /** Template references other than the batch key: when empty, every call of the binding has the same shape. */
  readonly shapeRefs: readonly Ref[];
  /** Equal for bindings that call the same batch endpoint the same way (they share a loader). */
  readonly endpointId: string;
}

/** What composition knows of one configured upstream. */
export interface UpstreamFacts {
  protocol: 'http' | 'grpc' | undefined;
  /** The .proto file (absolute) and service, for gRPC checks. */
  protoPath: string;
  service?: string;
}

export interface CompileBindingsOptions {
  /** The team's documents, parsed with the shown file name as their Source name. */
  documents: readonly DocumentNode[];
  /** Built from the documents and the binding declarations. */
  schema: GraphQLSchema;
  /** Configured upstreams; undefined: not known (names and protocols are not checked). */
  upstreams: ReadonlyMap<string, UpstreamFacts> | undefined;
  /** Where the .proto of an upstream not in `upstreams` would be. */
  defaultProtoPath(name: string): string;
  /** `graphql.bindingValues`; undefined: not known (`$config` names are not checked). */
  bindingValues: Readonly<Record<string, string>> | undefined;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const OWN_HEADERS = new Set(['content-type', 'content-length', 'accept']);

function fail(node: ASTNode, problem: string): never {
  const loc = node.loc;
  if (!loc) throw new CompositionError('schema', problem);
  const { line, column } = getLocation(loc.source, loc.start);
  throw new CompositionError(loc.source.name, problem, { line, column });
}

/** Unknown arguments of binding directives (and of their batch), with their position. */
export function checkBindingArguments(documents: readonly DocumentNode[]): void {
  for (const doc of documents) {
    visit(doc, {
      Directive(node) {
        const known = BINDING_ARGUMENTS[node.name.value];
        if (!known || !BINDING_DIRECTIVES.has(node.name.value)) return;
        for (const a of node.arguments ?? []) {
          if (!known.has(a.name.value)) fail(a, `@${node.name.value} has no argument "${a.name.value}" (arguments: ${[...known].join(', ')})`);
          if (a.name.value === 'batch' && a.value.kind === Kind.OBJECT) checkBatchFields(a.value);
        }
      },
    });
  }
}

export function compileBindings(opts: CompileBindingsOptions): BindingSpec[] {
  const out: BindingSpec[] = [];
  const protos = new Map<string, ProtoService | Error>();
  // `parentFields` of any binding on a type: fields its objects carry without the schema showing them.
  const carried = new Map<string, Set<string>>();
  for (const doc of opts.documents) {
    visit(doc, {
      ObjectTypeDefinition: (node) => collectCarried(node, carried),
      ObjectTypeExtension: (node) => collectCarried(node, carried),
    });
  }
  for (const doc of opts.documents) {
    for (const def of doc.definitions) {
      if (def.kind === Kind.INTERFACE_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_EXTENSION) {
        for (const f of def.fields ?? []) {
          const d = f.directives?.find((x) => BINDING_DIRECTIVES.has(x.name.value));
          if (d) fail(d, `${def.name.value}.${f.name.value}: an interface field cannot be bound; bind the field on each object type`);
        }
      }
      if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      for (const fieldNode of def.fields ?? []) {
        const bound = (fieldNode.directives ?? []).filter((d) => BINDING_DIRECTIVES.has(d.name.value));
        if (bound.length === 0) continue;
        if (bound.length > 1) fail(bound[1]!, `${def.name.value}.${fieldNode.name.value} has more than one binding`);
        const parent = opts.schema.getType(def.name.value) as GraphQLObjectType;
        const field = parent.getFields()[fieldNode.name.value]!;
        out.push(compileOne(opts, protos, carried, parent, field, bound[0]!));
      }
    }
  }
  return out;
}

function collectCarried(node: ObjectTypeDefinitionNode | ObjectTypeExtensionNode, carried: Map<string, Set<string>>): void {
  for (const f of node.fields ?? []) {
    for (const d of f.directives ?? []) {
      if (!BINDING_DIRECTIVES.has(d.name.value)) continue;
      const arg = d.arguments?.find((a) => a.name.value === 'parentFields');
      if (!arg) continue;
      let set = carried.get(node.name.value);
      if (!set) carried.set(node.name.value, (set = new Set()));
      const values = arg.value.kind === Kind.LIST ? arg.value.values : [arg.value];
      for (const v of values) if (v.kind === Kind.STRING) set.add(v.value);
    }
  }
}

interface Args {
  node: DirectiveNode;
  values: Record<string, unknown>;
  nodes: Map<string, ArgumentNode>;
}

function readArgs(schema: GraphQLSchema, directive: DirectiveNode): Args {
  const name = directive.name.value;
  const known = BINDING_ARGUMENTS[name]!;
  const nodes = new Map<string, ArgumentNode>();
  for (const a of directive.arguments ?? []) {
    if (!known.has(a.name.value)) fail(a, `@${name} has no argument "${a.name.value}" (arguments: ${[...known].join(', ')})`);
    nodes.set(a.name.value, a);
    if (a.name.value === 'batch' && a.value.kind === Kind.OBJECT) checkBatchFields(a.value);
  }
  const values: Record<string, unknown> = {};
  for (const def of schema.getDirective(name)!.args) {
    const a = nodes.get(def.name);
    if (!a) {
      if (def.defaultValue !== undefined) values[def.name] = def.defaultValue;
      else if (isNonNull(def.type)) fail(directive, `@${name} needs the argument "${def.name}"`);
      continue;
    }
    const v = valueFromAST(a.value, def.type);
    if (v === undefined) fail(a.value, `@${name}(${def.name}:) must be a ${String(def.type)}`);
    values[def.name] = v;
  }
  return { node: directive, values, nodes };
}

function isNonNull(t: GraphQLInputType): boolean {
  return getNullableType(t) !== t;
}

function checkBatchFields(obj: ObjectValueNode): void {
  const known = BINDING_ARGUMENTS.BindingBatch!;
  for (const f of obj.fields) {
    if (!known.has(f.name.value)) fail(f, `batch has no field "${f.name.value}" (fields: ${[...known].join(', ')})`);
  }
}

function compileOne(
  opts: CompileBindingsOptions,
  protos: Map<string, ProtoService | Error>,
  carried: ReadonlyMap<string, ReadonlySet<string>>,
  parent: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  directive: DirectiveNode,
): BindingSpec {
  const coordinate = `${parent.name}.${field.name}`;
  const protocol = directive.name.value as 'http' | 'grpc';
  const args = readArgs(opts.schema, directive);
  const at = (name: string): ASTNode => args.nodes.get(name)?.value ?? directive;
  const v = args.values;
  const attempt = <T>(name: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TemplateError) fail(at(name), `${coordinate} @${protocol}(${name}:): ${err.message}`);
      throw err;
    }
  };

  const upstream = v.upstream as string;
  let facts: UpstreamFacts | undefined;
  if (opts.upstreams) {
    facts = opts.upstreams.get(upstream);
    if (!facts) fail(at('upstream'), `${coordinate}: binds to upstream "${upstream}", which is not configured (configured: ${[...opts.upstreams.keys()].join(', ') || 'none'})`);
    if (facts.protocol && facts.protocol !== protocol) fail(at('upstream'), `${coordinate}: upstream "${upstream}" is ${facts.protocol}, not ${protocol}: use @${facts.protocol}`);
  }

  const config: ConfigLookup = (ref) => {
    const name = ref.path[0]!;
    if (!opts.bindingValues) return '';
    if (!Object.prototype.hasOwnProperty.call(opts.bindingValues, name)) {
      throw new TemplateError(`${ref.text}: graphql.bindingValues has no key "${name}"${Object.keys(opts.bindingValues).length ? ` (keys: ${Object.keys(opts.bindingValues).join(', ')})` : ''}`);
    }
    return opts.bindingValues[name]!;
  };

  const parentFields = carried.get(parent.name) ?? new Set<string>();
  const checkRef = (ref: Ref, argName: string) => {
    const problem = refProblem(ref, field, parent, parentFields);
    if (problem) fail(at(argName), `${coordinate} @${protocol}(${argName}:): ${problem}`);
  };

  // The request.
  let method: string;
  let path: PathTemplate | undefined;
  const headers: HeaderTemplate[] = [];
  let payload: JsonTemplate | undefined;
  let proto: ProtoService | undefined;
  if (protocol === 'http') {
    method = (v.method as string).toUpperCase();
    if (!METHODS.has(method)) fail(at('method'), `${coordinate}: method "${v.method as string}" is not one of ${[...METHODS].join(' ')}`);
    path = attempt('path', () => parsePath(v.path as string, config));
    for (const r of path.refs) checkRef(r, 'path');
    for (const text of (v.headers as string[] | undefined) ?? []) {
      const h = attempt('headers', () => parseHeader(text, config));
      // The routes' rule (every `_`/`.` spelling counts), plus what a bound call sets from its body.
      const why = unwritableHeader(h.name, 'request') ?? (OWN_HEADERS.has(h.name) ? 'set by the gateway from the call it sends' : undefined);
      if (why) fail(at('headers'), `${coordinate}: header ${h.name} is set by the gateway and cannot be bound (${why})`);
      for (const p of h.value) if (typeof p !== 'string') checkRef(p, 'headers');
      headers.push(h);
    }
    if (v.body !== undefined && v.body !== null) {
      if (method === 'GET' || method === 'HEAD') fail(at('body'), `${coordinate}: a ${method} call has no body`);
      payload = attempt('body', () => parseJsonTemplate(v.body as string, config));
    }
  } else {
    method = v.method as string;
    const slash = method.lastIndexOf('/');
    const service = slash === -1 ? undefined : method.slice(0, slash);
    method = slash === -1 ? method : method.slice(slash + 1);
    const facts2 = facts ?? { protocol: undefined, protoPath: opts.defaultProtoPath(upstream), service: undefined };
    const key = `${facts2.protoPath}#${facts2.service ?? ''}`;
    let loaded = protos.get(key);
    if (!loaded) {
      try {
        loaded = loadProtoService(facts2.protoPath, facts2.service);
      } catch (err) {
        loaded = err as Error;
      }
      protos.set(key, loaded);
    }
    if (loaded instanceof Error) {
      // Without a config the proto may live elsewhere: only a configured upstream must have one.
      if (facts) fail(at('upstream'), `${coordinate}: cannot read the proto of upstream "${upstream}": ${loaded.message}`);
    } else {
      proto = loaded;
      if (service !== undefined && service !== proto.fullName) fail(at('method'), `${coordinate}: upstream "${upstream}" serves ${proto.fullName}, not ${service}`);
      if (!proto.methods.has(method)) fail(at('method'), `${coordinate}: ${proto.fullName} has no method ${method} (methods: ${[...proto.methods.keys()].join(', ')})`);
    }
    if (v.request !== undefined && v.request !== null) {
      payload = attempt('request', () => parseJsonTemplate(v.request as string, config));
      const type = proto?.methods.get(method);
      const problem = type ? checkRequestShape(payload, type, 'request') : undefined;
      if (problem) fail(at('request'), `${coordinate}: ${problem}`);
    }
  }
  if (payload) for (const r of refsOfJson(payload)) checkRef(r, protocol === 'http' ? 'body' : 'request');

  // The answer.
  const mapping: ResponseMapping = {
    select: attempt('select', () => parseSelect(v.select as string | undefined)),
    renames: attempt('map', () => ((v.map as string[] | undefined) ?? []).map(parseRename)),
  };
  const named = getNamedType(field.type);
  const result = isObjectType(named) || isInterfaceType(named) ? named : undefined;
  for (const r of mapping.renames) {
    if (!result) fail(at('map'), `${coordinate}: map renames fields, but ${named.name} is not an object type`);
    if (!result.getFields()[r.target]) fail(at('map'), `${coordinate}: map target "${r.target}" is not a field of ${result.name}`);
  }
  const returnsList = isListType(getNullableType(field.type));

  // The batch.
  let batch: BatchSpec | undefined;
  const b = v.batch as { form: BatchForm; param: string; key: string; matchOn: string; many: boolean; maxSize: number } | undefined | null;
  if (b) {
    const key = attempt('batch', () => parseRef(b.key));
    if (key.source === 'config') fail(at('batch'), `${coordinate}: the batch key cannot be a $config value`);
    checkRef(key, 'batch');
    const keyType = refType(key, field, parent);
    const keyIsList = keyType !== undefined && isListType(getNullableType(keyType));
    if (keyType !== undefined) {
      const leaf = getNamedType(keyType);
      if (!isScalarType(leaf) && !isEnumType(leaf)) fail(at('batch'), `${coordinate}: batch key ${key.text} is a ${String(keyType)}, not a scalar or a list of scalars`);
    }
    if (b.many) {
      if (!returnsList) fail(at('batch'), `${coordinate}: many: true collects a list, but the field returns ${String(field.type)}`);
      if (keyIsList) fail(at('batch'), `${coordinate}: with many: true the key must be one value, but ${key.text} is a ${String(keyType)}`);
    } else if (returnsList && !keyIsList) {
      fail(at('batch'), `${coordinate}: the field returns a list, so the batch key must be a list (one key per element) or the batch must have many: true; ${key.text} is ${keyType ? `a ${String(keyType)}` : 'one value'}`);
    } else if (!returnsList && keyIsList) {
      fail(at('batch'), `${coordinate}: batch key ${key.text} is a ${String(keyType)}, but the field returns one ${String(field.type)}: the key must be one value`);
    }
    if (!result) fail(at('batch'), `${coordinate}: a batch matches objects, but ${named.name} is not an object type`);
    if (!result.getFields()[b.matchOn] && !carried.get(result.name)?.has(b.matchOn)) {
      fail(at('batch'), `${coordinate}: matchOn "${b.matchOn}" is not a field of ${result.name} (nor named in parentFields of a binding on ${result.name})`);
    }
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(b.param)) fail(at('batch'), `${coordinate}: batch param "${b.param}" must be a plain name`);
    if (b.maxSize < 1) fail(at('batch'), `${coordinate}: batch maxSize must be at least 1`);
    if (protocol === 'http' && b.form === 'REQUEST_FIELD') fail(at('batch'), `${coordinate}: form REQUEST_FIELD is for @grpc; use QUERY, REPEATED_QUERY or BODY_FIELD`);
    if (protocol === 'grpc' && b.form !== 'REQUEST_FIELD') fail(at('batch'), `${coordinate}: @grpc batches with form REQUEST_FIELD`);
    if (b.form === 'BODY_FIELD' && (method === 'GET' || method === 'HEAD')) fail(at('batch'), `${coordinate}: form BODY_FIELD needs a method with a body (POST, PUT, PATCH), not ${method}`);
    // The keys are added to the body or request object: a template of another shape has no place for them.
    if ((b.form === 'BODY_FIELD' || b.form === 'REQUEST_FIELD') && payload && !isObjectTemplate(payload)) {
      fail(at(protocol === 'http' ? 'body' : 'request'), `${coordinate}: with form ${b.form} the ${protocol === 'http' ? 'body' : 'request'} must be a JSON object, to carry "${b.param}"`);
    }
    if (b.form === 'REQUEST_FIELD' && proto) {
      const f = fieldOf(proto.methods.get(method)!, b.param);
      if (!f) fail(at('batch'), `${coordinate}: the request of ${method} has no field "${b.param}"`);
      if (!f.repeated) fail(at('batch'), `${coordinate}: request field "${b.param}" of ${method} is not repeated`);
    }
    batch = { form: b.form, param: b.param, key, keyIsList, matchOn: b.matchOn, many: b.many, maxSize: b.maxSize };
  }

  const shapeRefs = [...(path?.refs ?? []), ...headers.flatMap((h) => h.value.filter((p): p is Ref => typeof p !== 'string')), ...(payload ? refsOfJson(payload) : [])];
  const endpointId = JSON.stringify([
    upstream, protocol, method, v.path ?? null, v.headers ?? null, v.body ?? v.request ?? null, v.select ?? null, v.map ?? null,
    // Not the key: `user(id:)` and `users(ids:)` load the same kind of key from the same endpoint.
    b ? [b.form, b.param, b.matchOn, b.many, b.maxSize] : null,
  ]);
  return { coordinate, upstream, protocol, method, path, headers, payload, batch, mapping, returnsList, shapeRefs, endpointId };
}

function isObjectTemplate(t: JsonTemplate): boolean {
  return t.kind === 'object' || (t.kind === 'const' && t.value !== null && typeof t.value === 'object' && !Array.isArray(t.value));
}

/** Upstream facts from the config's `upstreams` section. */
export function upstreamFacts(upstreams: Readonly<Record<string, { protocol: 'http' | 'grpc'; proto?: string; service?: string }>>, projectRoot: string): Map<string, UpstreamFacts> {
  return new Map(Object.entries(upstreams).map(([name, u]) => [name, { protocol: u.protocol, protoPath: resolve(projectRoot, u.proto ?? `upstreams/${name}/${name}.proto`), service: u.service }]));
}
