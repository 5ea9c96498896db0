/**
 * API keys: configured in plain text or as a SHA-256 hex digest. A presented key is hashed
 * once and looked up by digest; the digest is then compared in constant time, so neither
 * the lookup nor the comparison leaks how much of a key matched.
 */
import { timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../hash.js';
import type { ApiKeysConfig } from '../config/schema.js';

export interface ApiKeyOwner {
  owner: string;
  roles: string[];
}

export class ApiKeyStore {
  readonly header: string;
  /** `auth.apiKeys.queryParam`, lower-cased, or undefined when keys are not read from the query. */
  readonly queryParam: string | undefined;
  readonly #byDigest = new Map<string, { digest: Buffer; owner: ApiKeyOwner }>();

  constructor(config: ApiKeysConfig) {
    this.header = config.header.toLowerCase();
    this.queryParam = config.queryParam?.toLowerCase();
    for (const k of config.keys) {
      const hex = 'sha256' in k && k.sha256 ? k.sha256.toLowerCase() : sha256Hex((k as { key: string }).key);
      this.#byDigest.set(hex, { digest: Buffer.from(hex, 'hex'), owner: { owner: k.owner, roles: k.roles } });
    }
  }

  /** The key's owner, or undefined for an unknown key. */
  lookup(presented: string): ApiKeyOwner | undefined {
    const hex = sha256Hex(presented);
    const entry = this.#byDigest.get(hex);
    if (!entry) return undefined;
    return timingSafeEqual(entry.digest, Buffer.from(hex, 'hex')) ? entry.owner : undefined;
  }
}
