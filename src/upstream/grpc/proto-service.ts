/**
 * A gRPC upstream's service, read from its .proto file: the one reading shared by the runtime
 * client (./grpc-upstream.ts) and by the composition checks of field bindings
 * (src/graphql/bindings/proto-info.ts), so that both pick the same service and see the same
 * methods and request messages.
 */
import { existsSync } from 'node:fs';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

export interface ProtoServiceDefinition {
  /** Fully qualified, e.g. `catalog.v1.Catalog`. */
  readonly fullName: string;
  /** What grpc-js builds the client constructor from. */
  readonly packageDefinition: PackageDefinition;
  /** Every method of the service, by name. */
  readonly methods: ReadonlySet<string>;
  /** Each method's request message type, for checking a message before it is sent (and a binding's request at composition). */
  readonly requestTypes: Map<string, protobuf.Type>;
}

/**
 * Reads the service `serviceName` (fully qualified, exactly as the proto declares it) or, without
 * one, the first service of the file in declaration order (imports after the file's own). Throws
 * an Error naming the file when the file or the service is missing.
 */
export function readProtoService(protoPath: string, serviceName?: string): ProtoServiceDefinition {
  if (!existsSync(protoPath)) throw new Error(`${protoPath}: proto file not found`);
  const def = loadSync(protoPath, PROTO_LOADER_OPTIONS);
  // Messages and enums carry a `format`; services are the other entries.
  const services = Object.entries(def).filter(([, v]) => typeof v === 'object' && v !== null && !('format' in v));
  const entry = serviceName ? services.find(([k]) => k === serviceName) : services[0];
  if (!entry) throw new Error(`${protoPath}: service ${serviceName ?? '(any)'} not found`);
  const fullName = entry[0];
  const root = protobuf.loadSync(protoPath).resolveAll();
  const requestTypes = new Map<string, protobuf.Type>();
  for (const m of root.lookupService(`.${fullName}`).methodsArray) {
    if (m.resolvedRequestType) requestTypes.set(m.name, m.resolvedRequestType);
  }
  return { fullName, packageDefinition: def, methods: new Set(Object.keys(entry[1] as object)), requestTypes };
}
