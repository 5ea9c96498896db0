/**
 * The directives the engine acts on (field authorization, per-field limits, demand control),
 * declared by the engine so a team's schema folder does not carry a copy of them. They are part
 * of the public schema: clients see what a field requires. A team's file that still declares
 * them identically merges with these.
 */
import { parse, Source } from 'graphql';

export const ENGINE_DIRECTIVES_SDL = /* GraphQL */ `
"The field needs a verified identity (JWT or API key); otherwise it resolves to an UNAUTHENTICATED error."
directive @authenticated on FIELD_DEFINITION | OBJECT

"The caller must hold one of these roles; otherwise FORBIDDEN."
directive @requiresRole(roles: [String!]!) on FIELD_DEFINITION | OBJECT

"Each resolution of the field costs one point of this per-client window; over it: RATE_LIMITED."
directive @rateLimit(points: Int!, durationSec: Int!) on FIELD_DEFINITION

"Static cost of the field for maxCost (default 1 for objects, 0 for scalars)."
directive @cost(weight: Int!) on FIELD_DEFINITION
`;

export const ENGINE_DIRECTIVES = parse(new Source(ENGINE_DIRECTIVES_SDL, 'engine directives'));
