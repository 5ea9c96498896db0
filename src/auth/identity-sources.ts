/** What the `auth` config section can verify, in the shape field authorization explains refusals with. */
import type { AuthConfig } from '../config/schema.js';
import type { IdentitySources } from './field-authorization.js';

/**
 * `clientCertificate`: the TLS listener verifies client certificates (`server.tls.clientCa`);
 * `clientRoles`: the roles `server.tls.clientRoles` gives them.
 */
export function identitySources(auth: AuthConfig, clientCertificate = false, clientRoles: Readonly<Record<string, string[]>> = {}): IdentitySources {
  return {
    clientCertificate,
    clientCertificateRoles: clientCertificate ? new Set(Object.values(clientRoles).flat()) : undefined,
    jwt: auth.jwt !== undefined,
    apiKeyHeader: auth.apiKeys?.header,
    apiKeyRoles: new Set(auth.apiKeys?.keys.flatMap((k) => k.roles) ?? []),
    sessionLogin: auth.oidc ? `${auth.oidc.pathPrefix}/login` : undefined,
    introspection: auth.introspection !== undefined,
  };
}
