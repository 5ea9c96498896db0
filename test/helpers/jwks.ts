/** A real JWKS endpoint on port 0 with jose-generated keys, and token minting for tests. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  spki: string;
}

export async function createSigningKey(alg: string, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, spki: await exportSPKI(publicKey) };
}

export interface JwksServer {
  url: string;
  /** Requests served so far. */
  hits: number;
  /** Keys currently published. */
  keys: SigningKey[];
  close(): Promise<void>;
}

export async function startJwksServer(keys: SigningKey[]): Promise<JwksServer> {
  const state = { hits: 0, keys };
  const server: Server = createServer((_req, res) => {
    state.hits++;
    const body = JSON.stringify({ keys: state.keys.map((k) => k.publicJwk) });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return Object.assign(state, {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  }) as JwksServer;
}

export interface MintOptions {
  alg?: string;
  kid?: string;
  expiresIn?: string | number;
  notBefore?: string | number;
  issuer?: string;
  audience?: string;
}

/** Signs a token with an asymmetric key or an HS secret. */
export async function mint(payload: JWTPayload, key: SigningKey | string, opts: MintOptions = {}): Promise<string> {
  const secret = typeof key === 'string';
  const alg = opts.alg ?? (secret ? 'HS256' : key.alg);
  let jwt = new SignJWT(payload).setProtectedHeader(secret ? { alg } : { alg, kid: opts.kid ?? key.kid }).setIssuedAt();
  if (opts.expiresIn !== undefined) jwt = jwt.setExpirationTime(opts.expiresIn);
  if (opts.notBefore !== undefined) jwt = jwt.setNotBefore(opts.notBefore);
  if (opts.issuer) jwt = jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt = jwt.setAudience(opts.audience);
  return jwt.sign(secret ? new TextEncoder().encode(key) : key.privateKey);
}
