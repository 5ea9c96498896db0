/** What the `auth` config section can verify, in the shape field authorization explains refusals with. */
import type { AuthConfig } from '../config/schema.js';
import type { IdentitySources } from './field-authorization.js';

/** `clientCertificate`: the TLS listener verifies client certificates (`server.tls.clientCa`). */
export function identitySources(auth: AuthConfig, clientCertificate = false): IdentitySources {
  return {
    clientCertificate,
    jwt: auth.jwt !== undefined,
    apiKeyHeader: auth.apiKeys?.header,
    apiKeyRoles: new Set(auth.apiKeys?.keys.flatMap((k) => k.roles) ?? []),
  };
}
