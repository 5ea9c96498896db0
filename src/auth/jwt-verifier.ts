/**
 * Verifies bearer tokens with jose: HS* against the shared secret, asymmetric algorithms
 * against a PEM public key or a remote JWKS (cached; refetched on an unknown `kid`, at most
 * once per cooldown so a flood of unknown kids cannot hammer the identity provider).
 * Every failure becomes a short, client-safe reason for the 401.
 *
 * A verified token is remembered (by its exact text) so that a client sending the same token
 * on every request pays for one signature check, not one per request. An entry never outlives
 * the token's `exp` (nor a few minutes without one), and is dropped as soon as the JWKS it was
 * checked against has been refetched (key rotation). The table is bounded.
 */
import { createRemoteJWKSet, importSPKI, jwtVerify, errors, type JWTPayload, type JWTVerifyGetKey, type CryptoKey, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import { LRUCache } from 'lru-cache';
import type { JwtConfig } from '../config/schema.js';
import { isForwardableRole, isForwardableSubject } from '../config/identity-values.js';

export interface VerifiedToken {
  payload: JWTPayload;
  roles: string[];
}

/** Options beyond the config that tests and embedders may set. */
export interface JwtVerifierOptions {
  /** Minimum time between JWKS refetches triggered by unknown kids. @default 30000 */
  jwksCooldownMs?: number;
  /** How long fetched keys are trusted before a refetch. @default 600000 */
  jwksMaxAgeMs?: number;
  /** Timeout for one JWKS fetch. @default 5000 */
  jwksTimeoutMs?: number;
}

export class TokenRejected extends Error {}

/** Maps jose's errors to the reason the client sees. */
export function reasonFor(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'token not yet valid';
    if (err.claim === 'iss') return 'wrong issuer';
    if (err.claim === 'aud') return 'wrong audience';
    if (err.reason === 'missing') return `missing required claim "${err.claim}"`;
    return `invalid claim "${err.claim}"`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key matches the token';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError && err.code === 'ERR_JWKS_INVALID') return 'signing keys unavailable';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) return 'malformed token';
  if (err instanceof TokenRejected) return err.message;
  return 'invalid token';
}

/** How long a token without `exp` is remembered. */
const NO_EXP_TTL_MS = 5 * 60_000;

interface Remembered {
  result: VerifiedToken;
  /** Date.now() after which the token is verified again. */
  until: number;
  /** The JWKS document it was checked against (undefined without a JWKS). */
  keys: unknown;
}

type RemoteJwks = ReturnType<typeof createRemoteJWKSet>;

/**
 * What one remembered token holds, counted generously: the token string, its decoded claims
 * (no larger than the token's payload part, counted once more) and the entry's own objects.
 */
function rememberedBytes(_entry: Remembered, token: string): number {
  return 2 * token.length + 256;
}

export class JwtVerifier {
  readonly #config: JwtConfig;
  readonly #secret: Uint8Array | undefined;
  readonly #jwks: RemoteJwks | undefined;
  /**
   * Verified tokens remembered (`auth.jwt.cacheSize` entries and `auth.jwt.cacheMaxBytes`; either 0:
   * none), least recently used first out. A token is the client's: the bound is in bytes too.
   */
  readonly #remembered: LRUCache<string, Remembered> | undefined;
  readonly #spki = new Map<string, Promise<CryptoKey>>();
  readonly #getKey: JWTVerifyGetKey;

  constructor(config: JwtConfig, opts: JwtVerifierOptions = {}) {
    this.#config = config;
    this.#remembered =
      config.cacheSize > 0 && config.cacheMaxBytes > 0
        ? new LRUCache<string, Remembered>({ max: config.cacheSize, maxSize: config.cacheMaxBytes, sizeCalculation: rememberedBytes })
        : undefined;
    this.#secret = config.secret ? new TextEncoder().encode(config.secret) : undefined;
    this.#jwks = config.jwksUrl
      ? createRemoteJWKSet(new URL(config.jwksUrl), {
          cooldownDuration: opts.jwksCooldownMs ?? 30_000,
          cacheMaxAge: opts.jwksMaxAgeMs ?? 600_000,
          timeoutDuration: opts.jwksTimeoutMs ?? 5_000,
        })
      : undefined;
    this.#getKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => this.#keyFor(header, token);
  }

  #keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey | Uint8Array> | Uint8Array {
    const alg = header.alg;
    // The algorithm list is enforced by jwtVerify too; checking first keeps an HS token from
    // ever being verified with a public key as its secret.
    if (!alg || !this.#config.algorithms.includes(alg as never)) throw new errors.JOSEAlgNotAllowed('algorithm not allowed');
    if (alg.startsWith('HS')) {
      if (!this.#secret) throw new TokenRejected('algorithm not allowed');
      return this.#secret;
    }
    if (this.#config.publicKey) {
      let key = this.#spki.get(alg);
      if (!key) {
        key = importSPKI(this.#config.publicKey, alg);
        this.#spki.set(alg, key);
      }
      return key;
    }
    if (this.#jwks) return this.#jwks(header as Parameters<JWTVerifyGetKey>[0], token) as Promise<CryptoKey>;
    throw new TokenRejected('algorithm not allowed');
  }

  /** A token verified earlier and still valid, without checking its signature again. */
  remembered(token: string): VerifiedToken | undefined {
    const hit = this.#remembered?.get(token);
    if (!hit) return undefined;
    if (Date.now() >= hit.until || (this.#jwks && this.#jwks.jwks() !== hit.keys)) {
      this.#remembered!.delete(token);
      return undefined;
    }
    return hit.result;
  }

  async verify(token: string): Promise<VerifiedToken> {
    const known = this.remembered(token);
    if (known) return known;
    const c = this.#config;
    const { payload } = await jwtVerify(token, this.#getKey, {
      algorithms: c.algorithms,
      issuer: c.issuer,
      audience: c.audience,
      requiredClaims: c.requiredClaims,
      clockTolerance: c.clockToleranceSec,
    });
    // A subject the upstream would not receive verbatim is refused, not altered (./identity-values.ts).
    if (typeof payload.sub === 'string' && !isForwardableSubject(payload.sub)) throw new TokenRejected('invalid claim "sub"');
    const result = { payload, roles: rolesFrom(payload, c.rolesClaim) };
    const now = Date.now();
    const until = typeof payload.exp === 'number' ? Math.min(payload.exp * 1000, now + NO_EXP_TTL_MS) : now + NO_EXP_TTL_MS;
    if (until > now && this.#remembered) this.#remembered.set(token, { result, until, keys: this.#jwks?.jwks() });
    return result;
  }

  /** Tokens remembered now, and the bytes they are counted at (tests of the bound). */
  get rememberedSize(): { entries: number; bytes: number } {
    return { entries: this.#remembered?.size ?? 0, bytes: this.#remembered?.calculatedSize ?? 0 };
  }
}

/**
 * Reads roles from a claim path (`roles`, or dotted like `realm_access.roles`), list or space/comma
 * string. Roles that could not be forwarded unambiguously are not granted (./roles.ts).
 */
export function rolesFrom(payload: JWTPayload, claim: string): string[] {
  let v: unknown = payload;
  for (const part of claim.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  if (Array.isArray(v)) return v.filter((r): r is string => typeof r === 'string' && isForwardableRole(r));
  if (typeof v === 'string') return v.split(/[\s,]+/).filter(isForwardableRole);
  return [];
}
