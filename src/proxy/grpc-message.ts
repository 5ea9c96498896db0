/**
 * Checks (and, for query-string values, converts) a REST→gRPC request message against the
 * method's request type from the loaded proto, BEFORE any upstream call. A message the
 * serializer would refuse or silently bend (`{"ids":5}` for `repeated string ids`, a number
 * past int32, an unknown field, a float where an integer goes) is the client's error: 400 with
 * the field path, no upstream call, nothing counted against the upstream.
 *
 * The rules are protobuf's JSON mapping as protobufjs's `fromObject` reads it (camelCase field
 * names, 64-bit integers as numbers or decimal strings, enums by name or number, bytes as
 * base64), minus every lenient coercion.
 */
import protobuf from 'protobufjs';
import { BadRequest } from '../errors.js';

/** Nesting deeper than this is refused (recursive message types would otherwise recurse freely). */
const MAX_DEPTH = 32;

const INT32: [number, number] = [-(2 ** 31), 2 ** 31 - 1];
const UINT32: [number, number] = [0, 2 ** 32 - 1];
const INT64: [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT64: [bigint, bigint] = [0n, 2n ** 64n - 1n];
const FLOAT_MAX = 3.4028234663852886e38;
const DECIMAL = /^-?\d{1,20}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;

function refuse(path: string, expected: string): never {
  throw BadRequest(`field ${path}: expected ${expected}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkLong(v: unknown, range: [bigint, bigint], path: string, type: string): unknown {
  let n: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && DECIMAL.test(v)) n = BigInt(v);
  else refuse(path, `${type} (an integer, or a decimal string beyond 2^53)`);
  if (n < range[0] || n > range[1]) refuse(path, `${type} in range`);
  return v;
}

function checkScalar(type: string, v: unknown, path: string): unknown {
  switch (type) {
    case 'string':
      if (typeof v !== 'string') refuse(path, 'string');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') refuse(path, 'boolean');
      return v;
    case 'double':
    case 'float':
      if (typeof v !== 'number' || !Number.isFinite(v) || (type === 'float' && Math.abs(v) > FLOAT_MAX)) refuse(path, `finite ${type}`);
      return v;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
    case 'uint32':
    case 'fixed32': {
      const [lo, hi] = type === 'uint32' || type === 'fixed32' ? UINT32 : INT32;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) refuse(path, `${type} (integer in ${lo}..${hi})`);
      return v;
    }
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return checkLong(v, INT64, path, type);
    case 'uint64':
    case 'fixed64':
      return checkLong(v, UINT64, path, type);
    case 'bytes':
      if (typeof v !== 'string' || !BASE64.test(v)) refuse(path, 'base64 string');
      return v;
    default:
      return refuse(path, `a supported type (${type})`);
  }
}

function checkEnum(e: protobuf.Enum, v: unknown, path: string): unknown {
  if (typeof v === 'string' && Object.hasOwn(e.values, v)) return v;
  if (typeof v === 'number' && Object.hasOwn(e.valuesById, v)) return v;
  return refuse(path, `one of ${Object.keys(e.values).join(', ')}`);
}

function checkSingle(field: protobuf.Field, v: unknown, path: string, depth: number): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return checkMessage(t, v, path, depth + 1);
  if (t instanceof protobuf.Enum) return checkEnum(t, v, path);
  return checkScalar(field.type, v, path);
}

function checkField(field: protobuf.Field, v: unknown, path: string, depth: number): unknown {
  if (v === null) return v;
  if (field.map) {
    if (!isPlainObject(v)) refuse(path, 'object (map)');
    const keyType = (field as unknown as protobuf.MapField).keyType;
    for (const [k, item] of Object.entries(v)) {
      if (keyType === 'bool' ? k !== 'true' && k !== 'false' : keyType !== 'string' && !DECIMAL.test(k)) refuse(`${path}.${k}`, `${keyType} map key`);
      checkSingle(field, item, `${path}.${k}`, depth);
    }
    return v;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) refuse(path, 'array');
    v.forEach((item, i) => checkSingle(field, item, `${path}[${i}]`, depth));
    return v;
  }
  return checkSingle(field, v, path, depth);
}

/** Throws BAD_REQUEST naming the first field of `value` that `type` cannot encode as sent. */
export function checkMessage(type: protobuf.Type, value: unknown, path = '', depth = 0): Record<string, unknown> {
  if (depth > MAX_DEPTH) refuse(path || '(root)', `nesting of at most ${MAX_DEPTH}`);
  if (!isPlainObject(value)) refuse(path || '(root)', `object (${type.name})`);
  for (const key of Object.keys(value)) {
    const p = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(type.fields, key)) throw BadRequest(`field ${p}: unknown field of ${type.name}`);
    checkField(type.fields[key]!, value[key], p, depth);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => value[name] !== undefined && value[name] !== null);
    if (set.length > 1) throw BadRequest(`fields ${set.join(', ')}: at most one of oneof ${oneof.name} may be set`);
  }
  return value;
}

/** Converts one query-string value to what the field's type takes (then checked like a body value). */
export function fromQueryText(field: protobuf.Field, text: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) throw BadRequest(`field ${field.name}: a message cannot be given in the query string`);
  if (t instanceof protobuf.Enum) return /^\d+$/.test(text) ? Number(text) : text;
  switch (field.type) {
    case 'string':
    case 'bytes':
      return text;
    case 'bool':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'int64': case 'sint64': case 'sfixed64': case 'uint64': case 'fixed64':
      return text;
    case 'int32': case 'sint32': case 'sfixed32': case 'uint32': case 'fixed32':
      // Integers in query text are written as integers: `0E0` or `1.0` stay text and are refused.
      // `-0` is zero: an integer has no negative zero (the wire carries 0), so none is handed on.
      return INTEGER_TEXT.test(text) ? Number(text) + 0 : text;
    default:
      return NUMBER_TEXT.test(text) ? Number(text) : text;
  }
}
