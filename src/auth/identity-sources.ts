/** What the `auth` config section can verify, in the shape field authorization explains refusals with. */
import type { AuthConfig } from '../config/schema.js';
import type { IdentitySources } from './field-authorization.js';

export function identitySources(auth: AuthConfig): IdentitySources {
  return {
    jwt: auth.jwt !== undefined,
    apiKeyHeader: auth.apiKeys?.header,
    apiKeyRoles: new Set(auth.apiKeys?.keys.flatMap((k) => k.roles) ?? []),
  };
}
