/**
 * A real OpenID Provider for the session tests: the `oidc-provider` package (a certified
 * implementation) started in-process on port 0, with one confidential client, a minimal login
 * form of our own (any user name logs in and consents to every requested scope), opaque access
 * tokens, refresh tokens, introspection and RP-initiated logout. Counts the grants and
 * introspection calls it answers, so tests can assert what reached the provider.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Refresh grants answered (successes and refusals). */
  refreshes: number;
  /** Authorization-code grants answered. */
  codeGrants: number;
  /** Introspection requests answered. */
  introspections: number;
  /** Lifetime of the next access / refresh tokens issued, in seconds. */
  ttl: { accessToken: number; refreshToken: number };
  /** Logs in without a form: the interaction finishes at once for this user (undefined: show the form). */
  autoLogin: string | undefined;
  /** Makes the provider answer 503 to everything (for breaker tests). */
  down: boolean;
  /** Requests answered 503 because of {@link down}. */
  refusedWhileDown: number;
  close(): Promise<void>;
}

export interface TestProviderOptions {
  redirectUri: (issuer: string) => string[];
  postLogoutRedirectUris?: string[];
  /** Also registers client `gateway-pkjwt`, authenticating with private_key_jwt signed by this key's private half. @default none */
  privateKeyJwtPublicJwk?: Record<string, unknown>;
}

export async function startTestProvider(opts: TestProviderOptions): Promise<TestProvider> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'gateway';
  const clientSecret = 'gateway-test-client-secret-0123456789';
  const state = {
    refreshes: 0,
    codeGrants: 0,
    introspections: 0,
    ttl: { accessToken: 600, refreshToken: 3600 },
    autoLogin: undefined as string | undefined,
    down: false,
    refusedWhileDown: 0,
  };
  // Our own signing key: the provider's built-in development keys print a warning on every start.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test', alg: 'RS256', use: 'sig' }] },
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUri(issuer),
        post_logout_redirect_uris: opts.postLogoutRedirectUris ?? [],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      ...(opts.privateKeyJwtPublicJwk
        ? [
            {
              client_id: 'gateway-pkjwt',
              redirect_uris: opts.redirectUri(issuer),
              grant_types: ['authorization_code', 'refresh_token'],
              response_types: ['code'],
              token_endpoint_auth_method: 'private_key_jwt',
              token_endpoint_auth_signing_alg: 'ES256',
              jwks: { keys: [opts.privateKeyJwtPublicJwk] },
            } as ClientMetadata,
          ]
        : []),
    ],
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: () => ({ sub, name: `User ${sub}`, email: `${sub}@example.test`, roles: ['member'] }) };
    },
    claims: { openid: ['sub'], profile: ['name', 'roles'], email: ['email'] },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: async () => true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = `<!doctype html><title>Sign out</title>${form}<button form="op.logoutForm" value="yes" name="logout">Sign out</button>`;
        },
      },
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: () => state.ttl.accessToken,
      RefreshToken: () => state.ttl.refreshToken,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  provider.on('grant.success', (ctx) => {
    const gt = ctx.oidc.params?.grant_type;
    if (gt === 'refresh_token') state.refreshes++;
    if (gt === 'authorization_code') state.codeGrants++;
  });
  provider.on('grant.error', (ctx) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') state.refreshes++;
  });
  const callback = provider.callback();

  async function finish(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, sub: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const grant = new provider.Grant({ accountId: sub, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  server.on('request', (req, res) => {
    if (state.down) {
      state.refusedWhileDown++;
      res.writeHead(503).end();
      return;
    }
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/token/introspection') state.introspections++;
    const m = /^\/interaction\/([\w-]+)$/.exec(url.pathname);
    if (!m) return void callback(req, res);
    void (async () => {
      if (req.method === 'GET' && state.autoLogin) return finish(req, res, state.autoLogin);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!doctype html><title>Sign in</title><form method="post"><label>User <input name="login" id="login"></label><button type="submit" id="sign-in">Sign in</button></form>`);
        return;
      }
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const login = new URLSearchParams(body).get('login') || 'anonymous';
      return finish(req, res, login);
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });

  return Object.assign(state, {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  }) as TestProvider;
}
