/**
 * The embedded demo's identity provider: a real OpenID Provider (panva/oidc-provider), so the
 * broker's bearer validation is exercised against the same discovery, JWKS and JWT access tokens a
 * production IdP (LS AAI, Keycloak...) serves. Dev only: in-memory storage, well-known client
 * secrets, plain http on loopback.
 *
 * Mounting: the broker runs one `http.createServer`; its listener hands every request whose path
 * starts with the issuer's path (e.g. `/oidc`) to `handler` and everything else to Hono. oidc-provider
 * routes on paths relative to where it is mounted and builds its absolute URLs (discovery,
 * `jwks_uri`, `token_endpoint`) from `req.originalUrl` / `req.baseUrl`, the way Express presents a
 * mounted app, so `handler` strips the prefix from `req.url` and sets those two first.
 *
 * Settings needed for plain http on loopback, and why they are safe here:
 * - `provider.proxy = false` (default): X-Forwarded-* headers are ignored, URLs are built from the
 *   socket (http) and the Host header. Set `trustProxy` only behind a TLS-terminating proxy, so the
 *   advertised endpoints become https.
 * - oidc-provider 9 accepts an `http:` issuer as is; it only marks cookies `secure` on https
 *   requests, and client_credentials uses no cookies. We refuse a plain-http issuer that is not
 *   loopback unless `allowInsecureIssuer` is set, so the demo secrets never travel a network in
 *   clear by accident.
 * - The in-memory adapter (it warns at start) is fine: JWT access tokens are self-contained and
 *   nothing else needs to survive a restart except the signing keys (`keysFile`).
 *
 * It is also a dev GA4GH Passport broker (AAI 1.2), so the user flows run offline:
 * - users `alice`/`alice` (researcher, visas for dataset `demo`) and `admin`/`admin` (users.ts),
 *   who log in through the authorization-code flow with PKCE (clients `portal`, public, and
 *   `portal-server`, confidential) on the minimal pages of interactions.ts;
 * - their access tokens are Passport-Scoped Access Tokens: RFC 9068 JWTs with scope
 *   `openid ga4gh_passport_v1` (+ `wes`...) for the broker audience and the client, with no GA4GH
 *   claims in them;
 * - UserInfo (`<issuer>/me`, served here because oidc-provider's refuses tokens that have an
 *   audience) answers such a token with `ga4gh_passport_v1`: visas freshly signed by the visa
 *   issuer of visas.ts (own ES256 key, JWKS at `<issuer>/visa-jwks`, named by `jku`);
 * - RFC 8693 token exchange at the token endpoint turns such a token into a Passport JWT
 *   (`typ: vnd.ga4gh.passport+jwt`, signed with the OP key) for `portal-server` and `demo-cli`.
 * Client-credentials tokens of `demo-cli`/`demo-cli-2` are what they always were. Tokens, visas and
 * passports are never logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import {
  Provider,
  errors as oidcErrors,
  type Account,
  type Client,
  type ClientMetadata,
  type GrantContext,
  type KoaContextWithOIDC,
  type StructuredJwt,
  type TokenModel,
} from 'oidc-provider';
import { createInteractionHandler, escapeHtml } from './interactions';
import { demoTermsUrl, findDevUser, visaAssertionsFor, type DevUser, type DevVisaSources } from './users';
import { createVisaIssuer, isVisaSigningKey, newVisaSigningKey, publicJwk, VISA_TTL_SEC, type VisaIssuer } from './visas';

export interface DevOidcClient {
  clientId: string;
  clientSecret: string;
  /** May also exchange a user's Passport-Scoped Access Token for a Passport. Default false. */
  tokenExchange?: boolean;
}

/**
 * Two confidential client-credentials clients with two different identities (`sub` = client id);
 * `demo-cli` may also exchange a user's access token for a Passport.
 */
export const DEMO_CLIENTS: readonly DevOidcClient[] = [
  { clientId: 'demo-cli', clientSecret: 'demo-cli-secret', tokenExchange: true },
  { clientId: 'demo-cli-2', clientSecret: 'demo-cli-2-secret' },
];

/** The portal in the browser: public client, authorization code + PKCE. */
export const PORTAL_CLIENT_ID = 'portal';
/** The portal's server side: confidential client, authorization code + PKCE, token exchange. */
export const PORTAL_SERVER_CLIENT: Readonly<DevOidcClient> = { clientId: 'portal-server', clientSecret: 'portal-server-secret', tokenExchange: true };
export const DEFAULT_PORTAL_REDIRECT_URI = 'http://localhost:8080/auth/callback';

/** OAuth scope (and claim) of GA4GH Passports. */
export const PASSPORT_SCOPE = 'ga4gh_passport_v1';
/** RFC 8693 grant type and token types, as AAI 1.2 uses them. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const PASSPORT_TOKEN_TYPE = 'urn:ga4gh:params:oauth:token-type:passport';
/** JWS `typ` of a Passport. */
export const PASSPORT_JWT_TYPE = 'vnd.ga4gh.passport+jwt';

export interface DevOidcOptions {
  /** Issuer identifier, e.g. `http://127.0.0.1:8080/oidc`; its path is the mount path. */
  issuer: string;
  /** The resource the access tokens are for (`aud`), e.g. `<base>/ga4gh/wes/v1`. */
  audience: string;
  /** Default: DEMO_CLIENTS. */
  clients?: readonly DevOidcClient[];
  /**
   * JSON JWKS with private keys. Created (mode 0600) when missing, reused when present, so tokens
   * issued before a restart of the demo still verify after it. Default: fresh keys in memory.
   */
  keysFile?: string;
  /** Scopes a client may ask for (`scope` parameter) and find in its token. Default `wes drs`. */
  scopes?: readonly string[];
  /** Access-token lifetime in seconds. Default 3600. */
  accessTokenTtlSec?: number;
  /** Trust X-Forwarded-Proto/Host (only behind a TLS-terminating reverse proxy). Default false. */
  trustProxy?: boolean;
  /** Allow a plain-http issuer on a non-loopback host (e.g. a docker network). Default false. */
  allowInsecureIssuer?: boolean;
  /** The broker's public base URL (terms of use live at `<publicUrl>/terms/v1`). Default: the issuer's origin. */
  publicUrl?: string;
  /** Redirect URIs of `portal` and `portal-server`. Default `[DEFAULT_PORTAL_REDIRECT_URI]`. */
  portalRedirectUris?: readonly string[];
  /**
   * Private ES256 JWKS of the visa issuer, created and reused like `keysFile`. Default: next to
   * `keysFile` (`<name>-visa.json`), or fresh keys in memory without `keysFile`.
   */
  visaKeysFile?: string;
}

export interface DevOidc {
  provider: Provider;
  issuer: string;
  /** Path prefix `handler` serves, e.g. `/oidc` (empty string when the issuer has no path). */
  mountPath: string;
  /** Token endpoint URL, for demo scripts and tests. */
  tokenEndpoint: string;
  /** Authorization endpoint URL (authorization code + PKCE). */
  authorizationEndpoint: string;
  /** UserInfo endpoint URL: `ga4gh_passport_v1` for Passport-Scoped Access Tokens. */
  userinfoEndpoint: string;
  /** The OP's JWKS (access tokens, ID tokens, Passports). */
  jwksUri: string;
  /** `iss` of the visas (not the OP issuer: visas have their own key). */
  visaIssuer: string;
  /** `jku` of the visas: the visa issuer's JWKS, `<issuer>/visa-jwks`. */
  visaJwksUri: string;
  /** `source` URLs of the visas. */
  visaSources: DevVisaSources;
  /** Client ids of the user-facing clients (`portal`, `portal-server`). */
  userClients: readonly string[];
  /** True when `url` (a request's `req.url`) belongs to this provider. */
  matches(url: string): boolean;
  /** Node listener for requests under `mountPath`. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export async function createDevOidcProvider(options: DevOidcOptions): Promise<DevOidc> {
  const { issuer, audience } = options;
  const issuerUrl = new URL(issuer);
  if (issuerUrl.protocol === 'http:' && !isLoopback(issuerUrl.hostname) && options.allowInsecureIssuer !== true) {
    throw new TypeError(`dev OIDC provider: refusing plain-http issuer ${issuer} on a non-loopback host (set allowInsecureIssuer to override)`);
  }
  const clients = options.clients ?? DEMO_CLIENTS;
  const scope = (options.scopes ?? ['wes', 'drs']).join(' ');
  // What a user's access token may carry: the AAI Passport scopes, then the API scopes.
  const userScope = `openid profile ${PASSPORT_SCOPE} ${scope}`;
  const accessTokenTTL = options.accessTokenTtlSec ?? 3600;
  const jwks = options.keysFile !== undefined ? await loadOrCreateKeys(options.keysFile, newSigningKey, isPrivateJwk) : { keys: [await newSigningKey()] };
  const visaKeysFile = options.visaKeysFile ?? (options.keysFile !== undefined ? siblingFile(options.keysFile, '-visa') : undefined);
  const visaKeys = visaKeysFile !== undefined ? await loadOrCreateKeys(visaKeysFile, newVisaSigningKey, isVisaSigningKey) : { keys: [await newVisaSigningKey()] };
  const mountPath = issuerUrl.pathname.replace(/\/+$/, '');
  const base = issuer.replace(/\/+$/, '');

  const visas = await createVisaIssuer({ opIssuer: issuer, keys: visaKeys.keys });
  const visaContext = {
    sources: visas.sources,
    termsUrl: demoTermsUrl(options.publicUrl ?? issuerUrl.origin),
    // The demo users "were vetted" when this provider started.
    asserted: Math.floor(Date.now() / 1000),
    opIssuer: issuer,
  };
  const redirectUris = [...(options.portalRedirectUris ?? [DEFAULT_PORTAL_REDIRECT_URI])];
  // After signing out, the provider sends the browser back to the portal's welcome page (the site
  // root of each redirect URI), not to a page of its own.
  const postLogoutRedirectUris = [...new Set(redirectUris.map((u) => new URL('/', u).href))];
  const userClients = [PORTAL_CLIENT_ID, PORTAL_SERVER_CLIENT.clientId];
  const userClientSet = new Set(userClients);
  const exchangeClients = new Set([...clients, PORTAL_SERVER_CLIENT].filter((c) => c.tokenExchange === true).map((c) => c.clientId));

  const provider = new Provider(issuer, {
    clients: [
      ...clients.map(
        (c): ClientMetadata => ({
          client_id: c.clientId,
          client_secret: c.clientSecret,
          grant_types: c.tokenExchange === true ? ['client_credentials', TOKEN_EXCHANGE_GRANT] : ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
          // No per-client `scope` allow-list: client metadata may only name the OP's static OIDC
          // scopes. The resource server below is what limits token scopes to `scopes`.
        }),
      ),
      {
        client_id: PORTAL_CLIENT_ID,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutRedirectUris,
        token_endpoint_auth_method: 'none',
      },
      {
        client_id: PORTAL_SERVER_CLIENT.clientId,
        client_secret: PORTAL_SERVER_CLIENT.clientSecret,
        grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
        response_types: ['code'],
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutRedirectUris,
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks,
    // Signs the interaction and session cookies of the login flow; a random key per start only
    // means a login in progress across a restart has to start again.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'profile', PASSPORT_SCOPE],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    findAccount: (_ctx: KoaContextWithOIDC, id: string): Account | undefined => {
      const user = findDevUser(id);
      return user === undefined ? undefined : { accountId: user.username, claims: () => profileClaims(user) };
    },
    // Every lifetime set, which also silences oidc-provider's "default ttl function" notices.
    ttl: {
      ClientCredentials: accessTokenTTL,
      AccessToken: accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      RefreshToken: 8 * 3600,
    },
    // The broker's server-side portal session refreshes silently (auth/session): refresh tokens for
    // `portal-server` only, without `offline_access`, and bound to the login session here.
    issueRefreshToken: (_ctx: KoaContextWithOIDC, client: Client) => client.clientId === PORTAL_SERVER_CLIENT.clientId,
    // Authorization code only: no implicit or hybrid flows that put tokens in URLs.
    responseTypes: ['code'],
    // PKCE for every authorization-code client, confidential ones included (OAuth 2.1).
    pkce: { required: () => true },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `${mountPath}/interaction/${interaction.uid}` },
    // The default page pulls a web font; this one loads nothing and escapes everything.
    renderError: (ctx: { type: string; body: unknown }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><h1>Something went wrong</h1>${Object.entries(out)
        .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</p>`)
        .join('')}</body></html>`;
    },
    formats: {
      customizers: {
        // AAI 1.2: a Passport-Scoped Access Token's `aud`, when present, contains the client id.
        // Only user tokens: client-credentials tokens keep `aud` = the broker audience alone.
        jwt: (_ctx: KoaContextWithOIDC, token: TokenModel, jwt: StructuredJwt) => {
          if (token.accountId !== undefined && token.clientId !== undefined) jwt.payload.aud = [audience, token.clientId];
        },
      },
    },
    features: {
      // The built-in login/consent pages are a quick-start toy; interactions.ts replaces them.
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // JWT access tokens only exist for a resource server: every token is for `audience`, even
      // when the client sends no `resource` parameter, and asking for another resource fails
      // with invalid_target instead of minting a token nobody can verify.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string, client: Client) => {
          if (resource !== audience) throw new oidcErrors.InvalidTarget(`this provider only issues tokens for ${audience}`);
          return {
            // Users' clients get the Passport scopes into the access token too (AAI 1.2).
            scope: userClientSet.has(client.clientId) ? userScope : scope,
            audience,
            accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  provider.proxy = options.trustProxy ?? false;

  // Verifies a token this provider issued to a user (for UserInfo and token exchange). Local keys
  // only: nothing is fetched, whatever the token says.
  const opKeys = createLocalJWKSet({ keys: jwks.keys.map(publicJwk) });
  const verifyUserToken = async (token: string): Promise<UserToken> => {
    if (token.length > 16 * 1024) throw new Error('token too large');
    const { payload } = await jwtVerify(token, opKeys, { issuer, audience, typ: 'at+jwt', algorithms: ['RS256'], clockTolerance: 5 });
    const user = typeof payload.sub === 'string' ? findDevUser(payload.sub) : undefined;
    if (user === undefined || typeof payload.client_id !== 'string' || !userClientSet.has(payload.client_id)) throw new Error('not a user token');
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    return { user, scopes, payload };
  };
  const userVisas = (user: DevUser): Promise<string[]> => visas.sign(user.username, visaAssertionsFor(user, visaContext));

  const [passportKey] = jwks.keys;
  const passportSigner = { kid: passportKey!.kid!, key: (await importJWK(passportKey!, 'RS256')) as CryptoKey };

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx: GrantContext) => {
      const { params, client } = ctx.oidc;
      // AAI 1.2 passport issuance; RFC 8693 2.2.2: every refusal of the request or of its subject
      // token is `invalid_request` (the description says which; it never echoes the token).
      if (!exchangeClients.has(client.clientId)) throw new oidcErrors.InvalidRequest('this client may not exchange tokens');
      if (params.requested_token_type !== PASSPORT_TOKEN_TYPE) {
        throw new oidcErrors.InvalidRequest(`requested_token_type must be ${PASSPORT_TOKEN_TYPE}`);
      }
      if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new oidcErrors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
      if (params.subject_token === undefined || params.subject_token === '') throw new oidcErrors.InvalidRequest('missing required parameter subject_token');
      if (params.actor_token !== undefined) throw new oidcErrors.InvalidRequest('delegation (actor_token) is not supported');
      let subject: UserToken;
      try {
        subject = await verifyUserToken(params.subject_token);
      } catch {
        throw new oidcErrors.InvalidRequest('subject_token is not a valid access token of this provider for a user');
      }
      if (!subject.scopes.includes('openid') || !subject.scopes.includes(PASSPORT_SCOPE)) {
        throw new oidcErrors.InvalidRequest(`subject_token is not a Passport-Scoped Access Token (scope must include openid and ${PASSPORT_SCOPE})`);
      }
      const now = Math.floor(Date.now() / 1000);
      const passport = await new SignJWT({ [PASSPORT_SCOPE]: await visas.sign(subject.user.username, visaAssertionsFor(subject.user, visaContext), now) })
        .setProtectedHeader({ alg: 'RS256', typ: PASSPORT_JWT_TYPE, kid: passportSigner.kid })
        .setIssuer(issuer)
        .setSubject(subject.user.username)
        .setIssuedAt(now)
        // Never outlives the visas inside it.
        .setExpirationTime(now + VISA_TTL_SEC)
        .setJti(randomUUID())
        .sign(passportSigner.key);
      ctx.body = { access_token: passport, issued_token_type: PASSPORT_TOKEN_TYPE, token_type: 'Bearer', expires_in: VISA_TTL_SEC };
    },
    ['subject_token', 'subject_token_type', 'requested_token_type', 'actor_token', 'actor_token_type', 'resource', 'audience', 'scope'],
    ['resource', 'audience'],
  );

  const interactions = createInteractionHandler({ provider, firstPartyClients: userClientSet });

  async function userinfo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const challenge = (error?: string, description?: string, extra = ''): string =>
      `Bearer realm="${issuer}"${error !== undefined ? `, error="${error}", error_description="${description ?? ''}"` : ''}${extra}`;
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      return sendJson(res, 405, { error: 'invalid_request', error_description: 'use GET or POST' });
    }
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(req.headers.authorization ?? '');
    if (match === null) {
      res.setHeader('www-authenticate', challenge());
      return sendJson(res, 401, { error: 'invalid_request', error_description: 'a bearer access token is required' });
    }
    let subject: UserToken;
    try {
      subject = await verifyUserToken(match[1]!);
    } catch {
      res.setHeader('www-authenticate', challenge('invalid_token', 'invalid access token'));
      return sendJson(res, 401, { error: 'invalid_token', error_description: 'invalid access token' });
    }
    if (!subject.scopes.includes('openid')) {
      res.setHeader('www-authenticate', challenge('insufficient_scope', 'access token missing openid scope', ', scope="openid"'));
      return sendJson(res, 403, { error: 'insufficient_scope', error_description: 'access token missing openid scope' });
    }
    const body: Record<string, unknown> = { sub: subject.user.username };
    if (subject.scopes.includes('profile')) Object.assign(body, profileClaims(subject.user));
    // AAI 1.2: a Passport-Scoped Access Token gets the user's visas.
    if (subject.scopes.includes(PASSPORT_SCOPE)) body[PASSPORT_SCOPE] = await userVisas(subject.user);
    sendJson(res, 200, body);
  }

  const callback = provider.callback();
  const matches = (url: string): boolean =>
    mountPath === '' || url === mountPath || url.startsWith(`${mountPath}/`) || url.startsWith(`${mountPath}?`);

  const route = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (path === '/visa-jwks') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        sendJson(res, 405, { error: 'invalid_request', error_description: 'use GET' });
      } else {
        res.setHeader('cache-control', 'public, max-age=300');
        sendJson(res, 200, visas.jwks);
      }
      return true;
    }
    if (path === '/me') {
      await userinfo(req, res);
      return true;
    }
    if (interactions.matches(path)) {
      await interactions.handle(req, res, path);
      return true;
    }
    return false;
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    if (!matches(url)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found' }));
      return;
    }
    const rest = url.slice(mountPath.length);
    // The Express shape oidc-provider understands for a mounted app (see header comment).
    const mounted = req as IncomingMessage & { originalUrl?: string; baseUrl?: string };
    mounted.originalUrl = url;
    mounted.baseUrl = mountPath;
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    const path = req.url.split('?')[0]!;
    route(req, res, path).then(
      (handled) => {
        // Koa's callback answers every error itself (OAuth JSON errors, 500 for bugs); the
        // promise never rejects, so there is nothing to await here.
        if (!handled) void callback(req, res);
      },
      () => {
        // Our own routes: a bug, answered without details (they could contain a token).
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
        else res.destroy();
      },
    );
  };

  return {
    provider,
    issuer,
    mountPath,
    tokenEndpoint: `${base}/token`,
    authorizationEndpoint: `${base}/auth`,
    userinfoEndpoint: `${base}/me`,
    jwksUri: `${base}/jwks`,
    visaIssuer: visas.visaIssuer,
    visaJwksUri: visas.jku,
    visaSources: visas.sources,
    userClients,
    matches,
    handler,
  };
}

interface UserToken {
  user: DevUser;
  scopes: string[];
  payload: JWTPayload;
}

function profileClaims(user: DevUser): Record<string, unknown> {
  return { sub: user.username, name: user.name, preferred_username: user.username };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' });
  res.end(JSON.stringify(body));
}

/** `dir/name.json` -> `dir/name<suffix>.json`. */
function siblingFile(file: string, suffix: string): string {
  const ext = file.endsWith('.json') ? '.json' : '';
  return join(dirname(file), `${basename(file, ext)}${suffix}${ext || '.json'}`);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  // The RFC 7638 thumbprint as kid: stable for the key, and what verifiers match tokens on.
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
}

/**
 * Keys that survive demo restarts. Written with mode 0600 (they are private keys) and with `wx`,
 * so two processes starting at once cannot overwrite each other's keys: the loser reads the
 * winner's file.
 */
async function loadOrCreateKeys(file: string, generate: () => Promise<JWK>, valid: (key: unknown) => key is JWK): Promise<{ keys: JWK[] }> {
  const existing = await readKeys(file, valid);
  if (existing !== undefined) return existing;
  const jwks = { keys: [await generate()] };
  await mkdir(dirname(file), { recursive: true });
  try {
    await writeFile(file, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return jwks;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = await readKeys(file, valid);
    if (raced === undefined) throw err;
    return raced;
  }
}

async function readKeys(file: string, valid: (key: unknown) => key is JWK): Promise<{ keys: JWK[] } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed: unknown = JSON.parse(text);
  const keys = typeof parsed === 'object' && parsed !== null ? (parsed as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(valid)) {
    throw new Error(`dev OIDC provider: ${file} is not a JWKS with private signing keys; delete it to get new ones`);
  }
  return { keys };
}

/** A private RSA JWK: what signs access tokens, ID tokens and Passports (RS256). */
function isPrivateJwk(value: unknown): value is JWK {
  return typeof value === 'object' && value !== null && (value as JWK).kty === 'RSA' && typeof (value as JWK).d === 'string';
}

/**
 * A client-credentials access token from the dev provider, for demo scripts, tests and
 * benchmarks. The demo clients' secrets are `<client>-secret`.
 */
export async function fetchDevToken(tokenEndpoint: string, client = 'demo-cli', secret = `${client}-secret`): Promise<string> {
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'wes' }),
  });
  const json = (await res.json()) as { access_token?: unknown };
  if (typeof json.access_token !== 'string') throw new Error(`no token from the dev OIDC provider (HTTP ${res.status})`);
  return json.access_token;
}

/**
 * A Passport for a user's Passport-Scoped Access Token, by RFC 8693 token exchange at the dev
 * provider (client `demo-cli` or `portal-server`), for demo scripts and tests.
 */
export async function fetchDevPassport(
  tokenEndpoint: string,
  userAccessToken: string,
  client = 'demo-cli',
  secret = `${client}-secret`,
): Promise<string> {
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      requested_token_type: PASSPORT_TOKEN_TYPE,
      subject_token_type: ACCESS_TOKEN_TYPE,
      subject_token: userAccessToken,
    }),
  });
  const json = (await res.json()) as { access_token?: unknown; error?: unknown };
  if (typeof json.access_token !== 'string') throw new Error(`no passport from the dev OIDC provider (HTTP ${res.status}${typeof json.error === 'string' ? `, ${json.error}` : ''})`);
  return json.access_token;
}
