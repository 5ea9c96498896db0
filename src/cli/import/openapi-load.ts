/**
 * Loading an OpenAPI 3.0 / 3.1 document for `gateway import openapi`: JSON or YAML, bounded
 * in size, every `$ref` inside the file dereferenced by @apidevtools/json-schema-ref-parser.
 *
 * A `$ref` that leaves the file (another file, a URL) is refused before the ref parser runs,
 * with all of its resolvers (file, http) switched off besides: an import never reads another
 * file or reaches the network because a document said so.
 */
import { $RefParser } from '@apidevtools/json-schema-ref-parser';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ImportError, readBounded } from './source.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface OpenApiDocument {
  /** "3.0" or "3.1". */
  version: '3.0' | '3.1';
  /** The dereferenced document: every `$ref` replaced by the object it names (the same object for the same target, cycles kept). */
  doc: JsonObject;
  /** The named schemas of `components.schemas`, by the (dereferenced) object, to name types after them. */
  schemaNames: Map<object, string>;
}

/** JSON Pointer escaping (RFC 6901), for naming where a refused `$ref` sits. */
const pointerPart = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** Every `$ref` value that does not point inside this document; walked without recursion. */
function externalRefs(root: Json): Array<{ at: string; ref: string }> {
  const out: Array<{ at: string; ref: string }> = [];
  const stack: Array<[Json, string]> = [[root, '']];
  while (stack.length > 0 && out.length < 5) {
    const [node, at] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      node.forEach((v, i) => stack.push([v, `${at}/${i}`]));
      continue;
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) out.push({ at: at || '/', ref: v });
      else stack.push([v, `${at}/${pointerPart(k)}`]);
    }
  }
  return out;
}

function parseText(file: string, raw: string): Json {
  const text = raw.replace(/^\uFEFF/, '');
  if (/\.json$/i.test(file)) {
    try {
      return JSON.parse(text) as Json;
    } catch (err) {
      throw new ImportError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
  }
  try {
    // yaml's defaults refuse duplicate keys and cap alias expansion (maxAliasCount 100).
    return parseYaml(text, { prettyErrors: true }) as Json;
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      throw new ImportError(`${file}: not valid YAML${where}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    throw new ImportError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

export async function loadOpenApi(file: string): Promise<OpenApiDocument> {
  const parsed = parseText(file, readBounded(file));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ImportError(`${file}: not an OpenAPI document (expected an object at the top)`);
  const declared = parsed.openapi;
  if (typeof declared !== 'string' || !/^3\.[01](?:\.|$)/.test(declared)) {
    const what = typeof parsed.swagger === 'string' ? `Swagger ${parsed.swagger}` : typeof declared === 'string' ? `OpenAPI ${declared}` : 'no "openapi" version';
    throw new ImportError(`${file}: ${what}; only OpenAPI 3.0 and 3.1 are imported`);
  }
  if (parsed.paths === null || typeof parsed.paths !== 'object' || Array.isArray(parsed.paths)) throw new ImportError(`${file}: "paths" is missing or not an object`);

  const external = externalRefs(parsed);
  if (external.length > 0) {
    const first = external[0]!;
    throw new ImportError(`${file}: $ref "${first.ref}" at ${first.at} points outside the file; only references inside it ("#/…") are followed`);
  }

  let doc: JsonObject;
  try {
    doc = (await new $RefParser().dereference(parsed as object, {
      resolve: { external: false, file: false, http: false },
      dereference: { circular: true },
    })) as JsonObject;
  } catch (err) {
    throw new ImportError(`${file}: ${(err as Error).message.split('\n')[0]}`);
  }

  const schemaNames = new Map<object, string>();
  const schemas = (doc.components as JsonObject | undefined)?.schemas;
  if (schemas && typeof schemas === 'object' && !Array.isArray(schemas)) {
    for (const [name, s] of Object.entries(schemas)) if (s && typeof s === 'object' && !schemaNames.has(s)) schemaNames.set(s, name);
  }
  return { version: declared.startsWith('3.1') ? '3.1' : '3.0', doc, schemaNames };
}
