/**
 * Session records and pending logins in Redis (./session-store.ts) are sealed at rest with
 * AES-256-GCM (node:crypto): a fresh 96-bit IV per seal, the session id as additional data (a
 * record copied under another id does not open).
 * The key is derived from `auth.oidc.sessionSecret` with HKDF-SHA256, so the configured
 * string is never used as a key directly.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class Sealer {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'gateway-session-salt', 'gateway session record v1', 32));
  }

  /** `iv | tag | ciphertext`, base64url. */
  seal(id: string, plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(id));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  /** The plain text, or undefined when the record was altered, moved or sealed with another key. */
  open(id: string, sealed: string): string | undefined {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      d.setAAD(Buffer.from(id));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
    } catch {
      // A failed tag check is the only error here: the record is treated as absent.
      return undefined;
    }
  }
}
