/**
 * The gateway as an OpenID Connect relying party, on openid-client 6: discovery (lazy, retried
 * after a failure), the authorization URL (PKCE S256, state, nonce), the code exchange with ID
 * token validation, the refresh grant and the RP-initiated logout URL. Errors come back as the
 * gateway's own: an OAuth error answer (`invalid_grant`, …) is {@link ProviderRefused}; a
 * provider that cannot be reached or times out is IDP_UNAVAILABLE.
 */
import * as oidc from 'openid-client';
import { importPKCS8 } from 'jose';
import type { OidcConfig } from '../../config/oidc-schema.js';
import { IdentityProviderUnavailable, type GatewayError } from '../../errors.js';

/** The provider answered with an OAuth error (e.g. `invalid_grant` for a dead refresh token). */
export class ProviderRefused extends Error {
  readonly error: string;
  constructor(error: string, description: string | undefined) {
    super(description ? `${error}: ${description}` : error);
    this.error = error;
  }
}

/** What a token endpoint answer leaves the session with. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** Absolute expiry of the access token (ms since epoch). */
  accessExpiresAt: number;
  /** Validated ID token claims (code exchange; a refresh may carry a new ID token). */
  claims: Record<string, unknown> | undefined;
}

/** The values a pending login keeps until its callback. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

/** Access tokens without `expires_in` are assumed to live this long. */
const DEFAULT_ACCESS_LIFETIME_SEC = 300;

export class OidcProvider {
  readonly #cfg: OidcConfig;
  #config: Promise<oidc.Configuration> | undefined;

  constructor(cfg: OidcConfig) {
    this.#cfg = cfg;
  }

  /** The discovered configuration; a failed discovery is forgotten so the next call tries again. */
  configuration(): Promise<oidc.Configuration> {
    this.#config ??= this.#discover().catch((err: unknown) => {
      this.#config = undefined;
      throw unavailable('discovery', err);
    });
    return this.#config;
  }

  async #discover(): Promise<oidc.Configuration> {
    const c = this.#cfg;
    const auth = c.privateKey
      ? oidc.PrivateKeyJwt(c.privateKeyKid ? { key: await importPKCS8(c.privateKey, c.privateKeyAlg), kid: c.privateKeyKid } : await importPKCS8(c.privateKey, c.privateKeyAlg))
      : oidc.ClientSecretBasic(c.clientSecret);
    const issuer = new URL(c.issuer);
    // A plain-http issuer is configured on purpose (a local provider); openid-client refuses it otherwise.
    const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
    return oidc.discovery(issuer, c.clientId, undefined, auth, { execute, timeout: Math.ceil(c.timeoutMs / 1000) });
  }

  /** A fresh pending login and the provider URL to send the browser to. */
  async authorizationUrl(returnTo: string): Promise<{ url: URL; pending: PendingLogin }> {
    const config = await this.configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const pending: PendingLogin = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier, returnTo };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#cfg.redirectUri,
      scope: this.#cfg.scopes.join(' '),
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url, pending };
  }

  /** Exchanges the callback's code; the ID token must be present, signed by the issuer, for us, with our nonce. */
  async exchange(callbackUrl: URL, pending: PendingLogin): Promise<TokenSet> {
    const config = await this.configuration();
    try {
      const t = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      return tokenSet(t, undefined);
    } catch (err) {
      throw translate('code exchange', err);
    }
  }

  async refresh(refreshToken: string, previous: { refreshToken?: string; idToken?: string }): Promise<TokenSet> {
    const config = await this.configuration();
    try {
      const t = await oidc.refreshTokenGrant(config, refreshToken);
      const set = tokenSet(t, previous.idToken);
      set.refreshToken ??= previous.refreshToken;
      return set;
    } catch (err) {
      throw translate('refresh', err);
    }
  }

  /** The provider's end_session URL, or undefined when it has none. */
  async endSessionUrl(idToken: string | undefined): Promise<URL | undefined> {
    const config = await this.configuration();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    const params: Record<string, string> = { client_id: this.#cfg.clientId };
    if (idToken) params.id_token_hint = idToken;
    if (this.#cfg.postLogoutRedirectUri) params.post_logout_redirect_uri = this.#cfg.postLogoutRedirectUri;
    return oidc.buildEndSessionUrl(config, params);
  }
}

function tokenSet(t: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, idToken: string | undefined): TokenSet {
  const expiresIn = t.expiresIn() ?? DEFAULT_ACCESS_LIFETIME_SEC;
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    idToken: t.id_token ?? idToken,
    accessExpiresAt: Date.now() + expiresIn * 1000,
    claims: t.id_token ? (t.claims() as Record<string, unknown> | undefined) : undefined,
  };
}

function unavailable(what: string, err: unknown): GatewayError {
  return IdentityProviderUnavailable(`${what}: ${err instanceof Error ? err.message : String(err)}`);
}

/** An OAuth error answer or a failed check is the provider refusing; anything else (network, timeout, 5xx) is it being unavailable. */
function translate(what: string, err: unknown): Error {
  if (err instanceof oidc.ResponseBodyError) {
    if (err.status >= 500) return unavailable(what, err);
    return new ProviderRefused(err.error, err.error_description);
  }
  if (err instanceof oidc.AuthorizationResponseError) return new ProviderRefused(err.error, err.error_description);
  // openid-client's own checks (state, nonce, ID token signature, iss, aud, PKCE) throw with an OAUTH_* code.
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('OAUTH_') && code !== 'OAUTH_RESPONSE_IS_NOT_CONFORM' && !(err instanceof TypeError)) {
    return new ProviderRefused('invalid_response', err instanceof Error ? err.message : String(err));
  }
  return unavailable(what, err);
}
