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
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { Provider, errors as oidcErrors, type ClientMetadata } from 'oidc-provider';

export interface DevOidcClient {
  clientId: string;
  clientSecret: string;
}

/** Two confidential clients with two different identities (`sub` = client id). */
export const DEMO_CLIENTS: readonly DevOidcClient[] = [
  { clientId: 'demo-cli', clientSecret: 'demo-cli-secret' },
  { clientId: 'demo-cli-2', clientSecret: 'demo-cli-2-secret' },
];

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
}

export interface DevOidc {
  provider: Provider;
  issuer: string;
  /** Path prefix `handler` serves, e.g. `/oidc` (empty string when the issuer has no path). */
  mountPath: string;
  /** Token endpoint URL, for demo scripts and tests. */
  tokenEndpoint: string;
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
  const accessTokenTTL = options.accessTokenTtlSec ?? 3600;
  const jwks = options.keysFile !== undefined ? await loadOrCreateKeys(options.keysFile) : { keys: [await newSigningKey()] };

  const provider = new Provider(issuer, {
    clients: clients.map(
      (c): ClientMetadata => ({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        // No per-client `scope` allow-list: client metadata may only name the OP's static OIDC
        // scopes. The resource server below is what limits token scopes to `scopes`.
      }),
    ),
    jwks,
    // Only used to sign interaction cookies, which client_credentials never sets; a random key
    // per start keeps oidc-provider from complaining and is never worth persisting.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // The resource server's accessTokenTTL below is what counts; this only silences the
    // "default ttl function called" notice for the same value.
    ttl: { ClientCredentials: accessTokenTTL },
    features: {
      // The built-in login/consent pages are a quick-start toy; nothing here uses user flows.
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // JWT access tokens only exist for a resource server: every token is for `audience`, even
      // when the client sends no `resource` parameter, and asking for another resource fails
      // with invalid_target instead of minting a token nobody can verify.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== audience) throw new oidcErrors.InvalidTarget(`this provider only issues tokens for ${audience}`);
          return {
            scope,
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

  const mountPath = issuerUrl.pathname.replace(/\/+$/, '');
  const callback = provider.callback();
  const matches = (url: string): boolean =>
    mountPath === '' || url === mountPath || url.startsWith(`${mountPath}/`) || url.startsWith(`${mountPath}?`);

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
    // Koa's callback answers every error itself (OAuth JSON errors, 500 for bugs); the promise
    // never rejects, so there is nothing to await here.
    void callback(req, res);
  };

  return {
    provider,
    issuer,
    mountPath,
    tokenEndpoint: `${issuer.replace(/\/+$/, '')}/token`,
    matches,
    handler,
  };
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
async function loadOrCreateKeys(file: string): Promise<{ keys: JWK[] }> {
  const existing = await readKeys(file);
  if (existing !== undefined) return existing;
  const jwks = { keys: [await newSigningKey()] };
  await mkdir(dirname(file), { recursive: true });
  try {
    await writeFile(file, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return jwks;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = await readKeys(file);
    if (raced === undefined) throw err;
    return raced;
  }
}

async function readKeys(file: string): Promise<{ keys: JWK[] } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed: unknown = JSON.parse(text);
  const keys = typeof parsed === 'object' && parsed !== null ? (parsed as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isPrivateJwk)) {
    throw new Error(`dev OIDC provider: ${file} is not a JWKS with private signing keys; delete it to get new ones`);
  }
  return { keys };
}

function isPrivateJwk(value: unknown): value is JWK {
  return typeof value === 'object' && value !== null && typeof (value as JWK).kty === 'string' && typeof (value as JWK).d === 'string';
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
