/**
 * Development JWT secrets. A shipped config may carry a default HS secret so that its demo
 * works out of the box (`${JWT_SECRET:-dev-only-…}`); anyone who reads the repository knows
 * that secret and can mint any token. The `dev-only-` prefix marks such a secret: start-up warns
 * loudly while one is in use, and refuses it when NODE_ENV=production, unless the in-process
 * demo runs (`--demo`), which is never a deployment.
 */
import type { AuthConfig } from '../config/schema.js';

/** A JWT secret starting with this is a development secret. */
export const DEV_SECRET_PREFIX = 'dev-only-';

export type DevSecretVerdict =
  | { kind: 'none' }
  | { kind: 'warn'; message: string }
  | { kind: 'refuse'; message: string; /** The message without its leading key path, for a config problem. */ reason: string };

/** What start-up should do about `auth.jwt.secret`, given the environment it runs in. */
export function checkDevSecret(auth: AuthConfig, opts: { production: boolean; demo: boolean }): DevSecretVerdict {
  const secret = auth.jwt?.secret;
  if (!secret?.startsWith(DEV_SECRET_PREFIX)) return { kind: 'none' };
  if (opts.production && !opts.demo) {
    const reason = `is a development secret (it starts with "${DEV_SECRET_PREFIX}") and NODE_ENV is production: set JWT_SECRET (or auth.jwt.secret) to a secret of your own`;
    return { kind: 'refuse', message: `auth.jwt.secret ${reason}`, reason };
  }
  return {
    kind: 'warn',
    message: `auth.jwt.secret is the DEVELOPMENT secret (it starts with "${DEV_SECRET_PREFIX}"): anyone can mint tokens this gateway accepts. Set JWT_SECRET before exposing it; with NODE_ENV=production it refuses to start`,
  };
}
