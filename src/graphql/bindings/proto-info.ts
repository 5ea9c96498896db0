/**
 * What composition checks a gRPC binding against: the upstream's service, its methods and their
 * request messages, read by the same code (src/upstream/grpc/proto-service.ts) from the same
 * .proto file as the upstream client, so the service chosen here is the one called at run time.
 */
import protobuf from 'protobufjs';
import { readProtoService } from '../../upstream/grpc/proto-service.js';
import type { JsonTemplate } from './template.js';

export interface ProtoService {
  /** Fully qualified, e.g. `catalog.v1.Catalog`. */
  readonly fullName: string;
  /** Request message type by method name. */
  readonly methods: ReadonlyMap<string, protobuf.Type>;
}

/** Loads the service as the upstream client does; throws an Error naming the file when it cannot. */
export function loadProtoService(protoPath: string, serviceName: string | undefined): ProtoService {
  const proto = readProtoService(protoPath, serviceName);
  return { fullName: proto.fullName, methods: proto.requestTypes };
}

/**
 * Checks a request template's literal object against the message: every key a field (by its
 * JSON name, as the client sends it), nested objects against nested messages. Returns a problem or undefined.
 */
export function checkRequestShape(t: JsonTemplate, type: protobuf.Type, where: string): string | undefined {
  let entries: Array<readonly [string, JsonTemplate]>;
  if (t.kind === 'object') entries = [...t.entries];
  else if (t.kind === 'const' && t.value !== null && typeof t.value === 'object' && !Array.isArray(t.value)) {
    entries = Object.entries(t.value).map(([k, v]) => [k, { kind: 'const', value: v }] as const);
  } else return undefined;
  for (const [key, v] of entries) {
    const field = fieldOf(type, key);
    if (!field) return `${where}: ${type.name} has no field "${key}" (fields: ${type.fieldsArray.map((f) => f.name).join(', ')})`;
    const nested = field.resolvedType;
    if (nested instanceof protobuf.Type && !field.repeated) {
      const p = checkRequestShape(v, nested, `${where}.${key}`);
      if (p) return p;
    }
  }
  return undefined;
}

/** The message field a JSON key names (camelCase, as sent, or the proto name). */
export function fieldOf(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fields[key] ?? type.fieldsArray.find((f) => f.name === key || camel(f.name) === key);
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}
