/**
 * The broker as an OpenID Connect relying party for the portal: authorization code flow with PKCE
 * (S256), `state` and `nonce`, refresh, end-session. Every protocol step is openid-client's; this
 * module only decides the client settings and turns its answers into what a session stores.
 */
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import type { SessionTokens } from './store';

export interface OidcLoginOptions {
  /** Issuer identifier; its discovery document says where everything else is. */
  issuer: string;
  clientId: string;
  /** Confidential client (`client_secret_basic`); omit for a public client (PKCE only). */
  clientSecret?: string;
  /** Exactly as registered at the identity provider, e.g. `<publicUrl>/auth/callback`. */
  redirectUri: string;
  /** e.g. `openid ga4gh_passport_v1 wes`; `openid` is added when missing. */
  scopes: readonly string[];
  /** Registered post-logout redirect, sent to the end-session endpoint when there is one. */
  postLogoutRedirectUri?: string;
  /**
   * Plain http to the identity provider. Allowed by default only for loopback issuers (the
   * embedded demo); set it for, say, a docker network, never across a real network.
   */
  allowInsecureIssuer?: boolean;
  /** Per-request timeout in seconds. Default 10. */
  timeoutSec?: number;
}

/** One authorization request: the URL to send the browser to and the secrets to keep for the callback. */
export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface LoginResult extends SessionTokens {
  issuer: string;
  subject: string;
  idTokenClaims: Record<string, unknown>;
}

export interface OidcLogin {
  readonly issuer: string;
  readonly redirectUri: string;
  authorizationRequest(): Promise<AuthorizationRequest>;
  /**
   * Checks the authorization response (state, iss, error) and redeems the code with the PKCE
   * verifier; the ID token's signature, audience and nonce are checked by openid-client.
   */
  finish(callbackQuery: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<LoginResult>;
  refresh(refreshToken: string): Promise<SessionTokens>;
  /** The identity provider's logout URL, or null when it offers none. */
  endSessionUrl(): Promise<URL | null>;
  /** Best effort: revokes a refresh token where the provider has a revocation endpoint. */
  revoke(refreshToken: string): Promise<void>;
}

/** A refusal from the identity provider (bad code, revoked refresh token...), as opposed to it being unreachable. */
export function isProviderRefusal(err: unknown): boolean {
  return err instanceof client.ResponseBodyError || err instanceof client.AuthorizationResponseError || err instanceof client.ClientError;
}

/** The `error` an identity provider answered with, for messages (never a token). */
export function providerError(err: unknown): { error: string; description: string | null } | null {
  if (err instanceof client.AuthorizationResponseError || err instanceof client.ResponseBodyError) {
    return { error: err.error, description: err.error_description ?? null };
  }
  return null;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Access-token expiry: `expires_in`, else the JWT's `exp`, else five minutes (then refresh or log in). */
function expiry(tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers): Date {
  const seconds = tokens.expiresIn();
  if (seconds !== undefined) return new Date(Date.now() + seconds * 1000);
  try {
    const { exp } = decodeJwt(tokens.access_token);
    if (typeof exp === 'number') return new Date(exp * 1000);
  } catch {
    // An opaque access token: fall through.
  }
  return new Date(Date.now() + 300_000);
}

export function createOidcLogin(options: OidcLoginOptions): OidcLogin {
  const issuerUrl = new URL(options.issuer);
  const insecure = issuerUrl.protocol === 'http:';
  if (insecure && !isLoopback(issuerUrl.hostname) && options.allowInsecureIssuer !== true) {
    throw new TypeError(`portal login: refusing plain-http issuer ${options.issuer} on a non-loopback host (set allowInsecureIssuer to override)`);
  }
  const scope = [...new Set(['openid', ...options.scopes])].join(' ');
  const auth = options.clientSecret !== undefined ? client.ClientSecretBasic(options.clientSecret) : client.None();

  let discovered: Promise<client.Configuration> | undefined;
  const configuration = (): Promise<client.Configuration> => {
    // Discovered on first use (the embedded provider is only up once the server listens); a failure
    // is not cached, so the next login tries again.
    if (discovered !== undefined) return discovered;
    const pending = client
      .discovery(issuerUrl, options.clientId, undefined, auth, insecure ? { execute: [client.allowInsecureRequests] } : {})
      .then((config) => {
        config.timeout = options.timeoutSec ?? 10;
        return config;
      });
    discovered = pending;
    pending.catch(() => {
      if (discovered === pending) discovered = undefined;
    });
    return pending;
  };

  return {
    issuer: options.issuer,
    redirectUri: options.redirectUri,

    async authorizationRequest() {
      const config = await configuration();
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url, state, nonce, codeVerifier };
    },

    async finish(query, expected) {
      const config = await configuration();
      // The redirect URI as registered, whatever host or proxy the request came through: it is
      // what the token request must repeat.
      const current = new URL(options.redirectUri);
      current.search = query.toString();
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (claims === undefined) throw new client.ClientError('the identity provider returned no ID token');
      return {
        issuer: claims.iss,
        subject: claims.sub,
        idTokenClaims: { ...claims },
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token ?? null,
        expiresAt: expiry(tokens),
      };
    },

    async refresh(refreshToken) {
      const config = await configuration();
      const tokens = await client.refreshTokenGrant(config, refreshToken);
      return {
        accessToken: tokens.access_token,
        // Rotation: a provider that issues a new refresh token has invalidated the old one.
        refreshToken: tokens.refresh_token ?? refreshToken,
        expiresAt: expiry(tokens),
      };
    },

    async endSessionUrl() {
      const config = await configuration();
      if (config.serverMetadata().end_session_endpoint === undefined) return null;
      return client.buildEndSessionUrl(config, options.postLogoutRedirectUri !== undefined ? { post_logout_redirect_uri: options.postLogoutRedirectUri } : {});
    },

    async revoke(refreshToken) {
      const config = await configuration();
      if (config.serverMetadata().revocation_endpoint === undefined) return;
      await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
    },
  };
}
