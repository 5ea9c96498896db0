/**
 * Field authorization from the schema's `@authenticated` and `@requiresRole(roles:)`
 * directives (on a field, or on a type for all its fields). The schema is rewritten once at
 * start-up so that only the protected fields carry a check; nothing wraps the other fields
 * and nothing is built per request. A refused field resolves to an UNAUTHENTICATED or
 * FORBIDDEN error at its path; the rest of the operation still gets its data.
 *
 * Refusal messages say what would have worked, from the configured auth kinds: which
 * credential to send, or that this gateway has no auth configured at all (and that the
 * credentials the request carried were ignored), or that no configured kind can give the
 * role a field needs. They are written once per field at start-up.
 */
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { MapperKind, getDirective, mapSchema } from '@graphql-tools/utils';
import type { RequestContext } from '../context.js';
import { Forbidden, Unauthenticated } from '../errors.js';

/** Which credentials this gateway can verify (from the `auth` config section). */
export interface IdentitySources {
  /** `auth.jwt` is configured: bearer tokens are verified. */
  jwt: boolean;
  /** `auth.apiKeys.header` when API keys are configured. */
  apiKeyHeader: string | undefined;
  /** Every role some configured API key holds (a JWT can carry any role). */
  apiKeyRoles: ReadonlySet<string>;
  /** The TLS listener verifies client certificates (`server.tls.clientCa`). @default false */
  clientCertificate?: boolean;
  /** Every role `server.tls.clientRoles` gives some certificate. @default none */
  clientCertificateRoles?: ReadonlySet<string>;
  /** `auth.oidc` is configured: the login path of browser sessions. @default none */
  sessionLogin?: string;
  /** `auth.introspection` is configured: opaque bearer tokens are introspected. @default false */
  introspection?: boolean;
}

/** Whether some configured kind accepts a bearer token (JWT or introspected). */
function bearer(sources: IdentitySources): boolean {
  return sources.jwt || sources.introspection === true;
}

/** Whether some configured kind can give any role (tokens and sessions carry their own). */
function anyRole(sources: IdentitySources): boolean {
  return bearer(sources) || sources.sessionLogin !== undefined;
}

/** No auth configured: the default of {@link applyFieldAuthorization}. */
export const NO_IDENTITY_SOURCES: IdentitySources = { jwt: false, apiKeyHeader: undefined, apiKeyRoles: new Set() };

/** Headers a client sends credentials in, looked at only to explain a refusal. */
const DEFAULT_API_KEY_HEADER = 'x-api-key';

interface Rule {
  roles: ReadonlySet<string> | null;
  /** Refusal of an anonymous caller. */
  anonymous: string;
  /** Refusal of an anonymous caller whose credentials were ignored (no auth kind verifies them). */
  ignored: string | undefined;
  /** Refusal of an identity without the role. */
  forbidden: string;
}

const GUARDED = Symbol('gateway.fieldAuth');
type Guarded = GraphQLFieldResolver<unknown, { gw: RequestContext }> & { [GUARDED]?: true };

/** Whether the request carried a credential that no configured auth kind looked at. */
function sentIgnoredCredentials(ctx: RequestContext, sources: IdentitySources): boolean {
  const h = ctx.req.headers;
  return (!bearer(sources) && h.authorization !== undefined) || (!sources.apiKeyHeader && h[DEFAULT_API_KEY_HEADER] !== undefined);
}

function guard(rule: Rule, sources: IdentitySources, next: GraphQLFieldResolver<unknown, { gw: RequestContext }>): Guarded {
  const resolve: Guarded = (source, args, context, info) => {
    const id = context.gw.identity;
    if (!id || id.kind === 'anonymous') {
      throw Unauthenticated(rule.ignored && sentIgnoredCredentials(context.gw, sources) ? rule.ignored : rule.anonymous);
    }
    if (rule.roles && !id.roles.some((r) => rule.roles!.has(r))) throw Forbidden(rule.forbidden);
    return next(source, args, context, info);
  };
  resolve[GUARDED] = true;
  return resolve;
}

/** What to send, for a message: `a bearer token (Authorization: Bearer <token>) or an API key (X-API-Key)`. */
function credentialHint(sources: IdentitySources): string | undefined {
  const kinds: string[] = [];
  if (bearer(sources)) kinds.push('a bearer token (Authorization: Bearer <token>)');
  if (sources.sessionLogin) kinds.push(`a session cookie (log in at ${sources.sessionLogin})`);
  if (sources.apiKeyHeader) kinds.push(`an API key (${sources.apiKeyHeader})`);
  if (sources.clientCertificate) kinds.push('a client certificate (mTLS)');
  return kinds.length ? kinds.join(' or ') : undefined;
}

/** The refusal messages of one protected field, written once. */
export function refusalMessages(coordinate: string, roles: readonly string[], sources: IdentitySources): Omit<Rule, 'roles'> {
  const hint = credentialHint(sources);
  const none = 'but this gateway has no auth configured (auth.jwt / auth.apiKeys)';
  const anonymous = hint ? `${coordinate} needs a verified identity: send ${hint}` : `${coordinate} needs a verified identity, ${none}`;
  let ignored: string | undefined;
  if (!bearer(sources) && !sources.apiKeyHeader) ignored = hint ? `${anonymous}; the Authorization header or API key this request sent was ignored: neither auth.jwt nor auth.apiKeys is configured` : `${anonymous}: the credentials this request sent were ignored`;
  else if (!bearer(sources)) ignored = `${anonymous}; the Authorization header this request sent was ignored: auth.jwt is not configured`;
  else if (!sources.apiKeyHeader) ignored = `${anonymous}; the API key this request sent was ignored: auth.apiKeys is not configured`;
  const list = roles.join(', ');
  const reachable = anyRole(sources) || roles.some((r) => sources.apiKeyRoles.has(r) || sources.clientCertificateRoles?.has(r));
  const forbidden = reachable
    ? `${coordinate} needs one of the roles: ${list}`
    : `${coordinate} needs one of the roles: ${list}, which no configured auth kind can give (no API key holds one and auth.jwt is not configured)`;
  return { anonymous, ignored, forbidden };
}

/** A protected field no configured auth kind can ever satisfy, for a start-up warning. */
export interface UnreachableField {
  coordinate: string;
  reason: string;
}

/**
 * Returns the schema with protected fields guarded (the same schema when none is), and the
 * protected fields that no caller can reach with the configured auth kinds.
 */
export function applyFieldAuthorization(
  schema: GraphQLSchema,
  sources: IdentitySources = NO_IDENTITY_SOURCES,
): { schema: GraphQLSchema; unreachable: UnreachableField[] } {
  const unreachable: UnreachableField[] = [];
  if (!schema.getDirective('authenticated') && !schema.getDirective('requiresRole')) return { schema, unreachable };
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
      const coordinate = `${typeName}.${fieldName}`;
      const messages = refusalMessages(coordinate, roles, sources);
      if (!anyRole(sources) && !sources.apiKeyHeader && !sources.clientCertificate) unreachable.push({ coordinate, reason: 'needs a verified identity and no auth is configured (auth.jwt / auth.apiKeys)' });
      else if (roles.length && !anyRole(sources) && !roles.some((r) => sources.apiKeyRoles.has(r) || sources.clientCertificateRoles?.has(r))) {
        unreachable.push({ coordinate, reason: `needs one of the roles ${roles.join(', ')}, which no configured API key holds (and auth.jwt is not configured)` });
      }
      const rule: Rule = { roles: roles.length ? new Set(roles) : null, ...messages };
      return { ...field, resolve: guard(rule, sources, (field.resolve as Guarded | undefined) ?? defaultFieldResolver) };
    },
  });
  return { schema: changed ? next : schema, unreachable };
}
