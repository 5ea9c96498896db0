/**
 * Field authorization from the schema's `@authenticated` and `@requiresRole(roles:)`
 * directives (on a field, or on a type for all its fields). The schema is rewritten once at
 * start-up so that only the protected fields carry a check; nothing wraps the other fields
 * and nothing is built per request. A refused field resolves to an UNAUTHENTICATED or
 * FORBIDDEN error at its path; the rest of the operation still gets its data.
 */
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { MapperKind, getDirective, mapSchema } from '@graphql-tools/utils';
import type { RequestContext } from '../context.js';
import { Forbidden, Unauthenticated } from '../errors.js';

interface Rule {
  authenticated: boolean;
  roles: ReadonlySet<string> | null;
  coordinate: string;
}

const GUARDED = Symbol('gateway.fieldAuth');
type Guarded = GraphQLFieldResolver<unknown, { gw: RequestContext }> & { [GUARDED]?: true };

function guard(rule: Rule, next: GraphQLFieldResolver<unknown, { gw: RequestContext }>): Guarded {
  const resolve: Guarded = (source, args, context, info) => {
    const id = context.gw.identity;
    if (!id || id.kind === 'anonymous') throw Unauthenticated(`${rule.coordinate} needs a verified identity`);
    if (rule.roles && !id.roles.some((r) => rule.roles!.has(r))) {
      throw Forbidden(`${rule.coordinate} needs one of the roles: ${[...rule.roles].join(', ')}`);
    }
    return next(source, args, context, info);
  };
  resolve[GUARDED] = true;
  return resolve;
}

/** Returns the schema with protected fields guarded (the same schema when none is). */
export function applyFieldAuthorization(schema: GraphQLSchema): GraphQLSchema {
  if (!schema.getDirective('authenticated') && !schema.getDirective('requiresRole')) return schema;
  let changed = false;
  const next = mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      if ((field.resolve as Guarded | undefined)?.[GUARDED]) return field;
      const type = schema.getType(typeName)!;
      const onField = getDirective(schema, field, 'authenticated')?.length ?? 0;
      const onType = getDirective(schema, type, 'authenticated')?.length ?? 0;
      const roleArgs = [...(getDirective(schema, field, 'requiresRole') ?? []), ...(getDirective(schema, type, 'requiresRole') ?? [])];
      if (!onField && !onType && roleArgs.length === 0) return field;
      const roles = roleArgs.flatMap((a) => (a as { roles: string[] }).roles);
      changed = true;
      const rule: Rule = { authenticated: true, roles: roles.length ? new Set(roles) : null, coordinate: `${typeName}.${fieldName}` };
      return { ...field, resolve: guard(rule, (field.resolve as Guarded | undefined) ?? defaultFieldResolver) };
    },
  });
  return changed ? next : schema;
}
