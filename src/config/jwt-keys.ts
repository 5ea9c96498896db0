/**
 * Start-up checks of the JWT key material in `auth.jwt`, so that a key that could never verify
 * a token, or one an attacker could brute-force, fails `config check` instead of the first login.
 *
 * - HS* secrets are at least as long as the hash output (RFC 7518 §3.2): HS256 32 bytes,
 *   HS384 48, HS512 64, counted in UTF-8 bytes, the way the verifier encodes them.
 * - `publicKey` is a PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`) that node:crypto
 *   can read, whose key type fits at least one configured asymmetric algorithm (RSA of at least
 *   2048 bits for RS* and PS*, the named curve for ES*, Ed25519/Ed448 for EdDSA). A private key is
 *   refused by name: it does not belong in a gateway's config.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

export interface KeyProblem {
  /** Key under `auth.jwt`: `secret` or `publicKey`. */
  key: 'secret' | 'publicKey';
  message: string;
}

/** Minimum HS secret length in bytes per algorithm (RFC 7518 §3.2: at least the hash size). */
export const MIN_HS_SECRET_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** RSA moduli below this many bits are refused (RFC 7518 §3.3 and §3.5). */
const MIN_RSA_BITS = 2048;

const EC_CURVES: Readonly<Record<string, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

const SPKI_PEM = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----$/;
const PRIVATE_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Why `key` cannot verify `alg`, or undefined when it can. */
function misfit(key: KeyObject, alg: string): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    if (type !== 'rsa' && !(alg.startsWith('PS') && type === 'rsa-pss')) return `${alg} needs an RSA key, got ${type}`;
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) return `${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${details.modulusLength}`;
    return undefined;
  }
  if (alg.startsWith('ES')) {
    const curve = EC_CURVES[alg];
    if (type !== 'ec' || details.namedCurve !== curve) return `${alg} needs an EC key on ${curve}, got ${type}${details.namedCurve ? ` on ${details.namedCurve}` : ''}`;
    return undefined;
  }
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448' ? undefined : `EdDSA needs an Ed25519 or Ed448 key, got ${type}`;
  return `${alg} does not use a public key`;
}

/** Every problem with the secret and the public key for these algorithms; empty when they are usable. */
export function checkJwtKeys(algorithms: readonly string[], secret: string | undefined, publicKey: string | undefined): KeyProblem[] {
  const problems: KeyProblem[] = [];
  if (secret !== undefined) {
    const bytes = Buffer.byteLength(secret, 'utf8');
    const hs = algorithms.filter((a) => a in MIN_HS_SECRET_BYTES);
    const strictest = hs.reduce((best, a) => (MIN_HS_SECRET_BYTES[a]! > MIN_HS_SECRET_BYTES[best]! ? a : best), hs[0] ?? '');
    const min = MIN_HS_SECRET_BYTES[strictest];
    // The secret itself is never echoed: only its length.
    if (min !== undefined && bytes < min) problems.push({ key: 'secret', message: `${strictest} needs a secret of at least ${min} bytes (RFC 7518 §3.2), got ${bytes}` });
  }
  if (publicKey !== undefined) {
    const asym = algorithms.filter((a) => !(a in MIN_HS_SECRET_BYTES));
    const problem = publicKeyProblem(publicKey.trim(), asym);
    if (problem) problems.push({ key: 'publicKey', message: problem });
  }
  return problems;
}

function publicKeyProblem(pem: string, algorithms: readonly string[]): string | undefined {
  if (PRIVATE_PEM.test(pem)) return 'is a private key: configure the PEM public key (SPKI) instead, and keep the private key out of the config';
  if (!SPKI_PEM.test(pem)) return 'must be a PEM public key (SPKI, "-----BEGIN PUBLIC KEY-----")';
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem', type: 'spki' });
  } catch {
    return 'is not a readable PEM public key (SPKI)';
  }
  if (algorithms.length === 0) return 'is set but auth.jwt.algorithms lists no asymmetric algorithm';
  const reasons = algorithms.map((a) => misfit(key, a));
  if (reasons.some((r) => r === undefined)) return undefined;
  return `fits none of the configured algorithms: ${reasons.join('; ')}`;
}
