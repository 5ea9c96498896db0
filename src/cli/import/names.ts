/**
 * GraphQL names for what the importers read (operationIds, JSON property names, schema and
 * message names), and the type tables that map OpenAPI and protobuf scalars to GraphQL.
 *
 * Every name the importers print passes through here: the result always matches GraphQL's
 * Name (`/[_A-Za-z][_0-9A-Za-z]*` /, spec §2.1.9), never starts with `__` (reserved for
 * introspection), is never a built-in or binding type name, and is unique in its scope
 * (a {@link NameScope} suffixes 2, 3, … on a collision).
 */

/** Type names a generated type must not take: the built-in scalars, the root types, the binding directive's types. */
const RESERVED_TYPE_NAMES = ['String', 'Int', 'Float', 'Boolean', 'ID', 'Query', 'Mutation', 'Subscription', 'BindingBatch', 'BindingBatchForm'];
/** Enum values GraphQL forbids (spec §3.9). */
const RESERVED_ENUM_VALUES = ['true', 'false', 'null'];

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Whether `s` is a GraphQL name that may be used as is (not an introspection name). */
export function isGraphQLName(s: string): boolean {
  return NAME.test(s) && !s.startsWith('__');
}

/** Whether `s` may be an enum value of a generated enum, unchanged. */
export function isEnumValueName(s: string): boolean {
  return isGraphQLName(s) && !RESERVED_ENUM_VALUES.includes(s);
}

/** Splits any text into ASCII alphanumeric words: accents dropped, everything else a separator. */
function words(raw: string): string[] {
  const ascii = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const out: string[] = [];
  for (const part of ascii.split(/[^A-Za-z0-9]+/)) {
    if (!part) continue;
    // "listPets" → list, Pets; "HTTPStatus" → HTTP, Status; "v2Beta" → v2, Beta
    for (const w of part.split(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/)) if (w) out.push(w);
  }
  return out;
}

const upperFirst = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);

/** A leading digit gets an underscore: names cannot start with one. */
const noLeadingDigit = (s: string): string => (/^[0-9]/.test(s) ? `_${s}` : s);

/**
 * A field or argument name in camelCase: `list-pets` → `listPets`, `GetProducts` →
 * `getProducts`, `price_cents` → `priceCents`, `200ok` → `_200ok`. Empty input → `field`.
 */
export function fieldName(raw: string): string {
  const ws = words(raw);
  if (ws.length === 0) return 'field';
  const [first, ...rest] = ws as [string, ...string[]];
  const head = /^[A-Z0-9]+$/.test(first) ? first.toLowerCase() : first.charAt(0).toLowerCase() + first.slice(1);
  // An all-capitals word is an acronym: `getUserByID` → `getUserById`.
  return noLeadingDigit(head + rest.map((w) => upperFirst(/^[A-Z0-9]+$/.test(w) ? w.toLowerCase() : w)).join(''));
}

/** A type name in PascalCase: `pet_owner` → `PetOwner`, `catalog.v1.Product` handled by the caller. Empty → `Type`. */
export function typeName(raw: string): string {
  const ws = words(raw);
  if (ws.length === 0) return 'Type';
  return noLeadingDigit(ws.map(upperFirst).join(''));
}

/** An enum value name for a wire value that is not one already: `in-stock` → `IN_STOCK`. */
export function enumValueName(raw: string): string {
  const ws = words(raw);
  if (ws.length === 0) return 'EMPTY';
  return noLeadingDigit(ws.map((w) => w.toUpperCase()).join('_'));
}

/**
 * Names taken in one scope (the types of one output, the fields of one type, the arguments
 * of one field). {@link take} returns the wanted name, or the wanted name with the smallest
 * free numeric suffix.
 */
export class NameScope {
  private readonly used = new Set<string>();

  constructor(reserved: readonly string[] = []) {
    for (const r of reserved) this.used.add(r);
  }

  /** A scope for type names: built-ins and the binding types are taken from the start. */
  static forTypes(): NameScope {
    return new NameScope(RESERVED_TYPE_NAMES);
  }

  take(wanted: string): string {
    let name = wanted;
    for (let n = 2; this.used.has(name); n++) name = `${wanted}${n}`;
    this.used.add(name);
    return name;
  }

  /** Gives a taken name back (an importer taking back what a skipped operation added). */
  release(name: string): void {
    this.used.delete(name);
  }

  has(name: string): boolean {
    return this.used.has(name);
  }
}

/** GraphQL scalar for an OpenAPI `type` + `format`; `undefined` for what has no scalar (object, array). */
export function openApiScalar(type: string, format: string | undefined): { scalar: string; note?: string } | undefined {
  switch (type) {
    case 'string':
      return { scalar: 'String' };
    case 'integer':
      // GraphQL Int is 32-bit (spec §3.5.1): a 64-bit integer would fail to serialize as Int.
      return format === 'int64' || format === 'uint64' || format === 'uint32' ? { scalar: 'String', note: `${format}: wider than GraphQL Int, typed String` } : { scalar: 'Int' };
    case 'number':
      return { scalar: 'Float' };
    case 'boolean':
      return { scalar: 'Boolean' };
    default:
      return undefined;
  }
}

/**
 * GraphQL scalar for a protobuf scalar type. 64-bit integers are String: GraphQL Int is
 * 32-bit, and a JavaScript number holds integers exactly only up to 2^53. bytes are
 * base64 text in protobuf's JSON mapping.
 */
export const PROTO_SCALARS: Readonly<Record<string, string>> = {
  double: 'Float',
  float: 'Float',
  int32: 'Int',
  sint32: 'Int',
  sfixed32: 'Int',
  uint32: 'String',
  fixed32: 'String',
  int64: 'String',
  sint64: 'String',
  sfixed64: 'String',
  uint64: 'String',
  fixed64: 'String',
  bool: 'Boolean',
  string: 'String',
  bytes: 'String',
};
