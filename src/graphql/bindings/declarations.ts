/**
 * The binding directives, declared by the engine (teams do not declare them): composition adds
 * this SDL before it validates the team's schema, and strips the directives and their input and
 * enum types from the public schema, so clients never see them. The syntax is fixed (it is what
 * `gateway import` emits): arguments may be added, never renamed or removed.
 */
import { visit, type DocumentNode } from 'graphql';

export const BINDING_SDL = /* GraphQL */ `
directive @http(
  upstream: String!
  method: String = "GET"
  path: String!
  body: String
  headers: [String!]
  batch: BindingBatch
  select: String
  map: [String!]
  parentFields: [String!]
) on FIELD_DEFINITION

directive @grpc(
  upstream: String!
  method: String!
  request: String
  batch: BindingBatch
  select: String
  map: [String!]
  parentFields: [String!]
) on FIELD_DEFINITION

enum BindingBatchForm { QUERY REPEATED_QUERY BODY_FIELD REQUEST_FIELD }

input BindingBatch {
  form: BindingBatchForm!
  param: String!
  key: String!
  matchOn: String!
  many: Boolean = false
  maxSize: Int = 100
}
`;

/** Directive names that bind a field. */
export const BINDING_DIRECTIVES: ReadonlySet<string> = new Set(['http', 'grpc']);

/** Argument names per directive, and of BindingBatch, for "unknown argument" errors with a position. */
export const BINDING_ARGUMENTS: Readonly<Record<string, ReadonlySet<string>>> = {
  http: new Set(['upstream', 'method', 'path', 'body', 'headers', 'batch', 'select', 'map', 'parentFields']),
  grpc: new Set(['upstream', 'method', 'request', 'batch', 'select', 'map', 'parentFields']),
  BindingBatch: new Set(['form', 'param', 'key', 'matchOn', 'many', 'maxSize']),
};

/** The document without binding directives: what clients see. */
export function withoutBindings(doc: DocumentNode): DocumentNode {
  return visit(doc, { Directive: (node) => (BINDING_DIRECTIVES.has(node.name.value) ? null : undefined) });
}
