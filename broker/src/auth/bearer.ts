/**
 * Bearer access-token verification for the GA4GH APIs (OIDC/OAuth 2 resource-server side).
 *
 * All JWT work is jose's: this module only decides *which* issuer a token may come from, where its
 * keys live, and how each failure is explained. The order of checks is the security argument:
 *
 *   1. size cap, then an unverified decode of header and payload (no network, no crypto);
 *   2. `alg` against an asymmetric allow-list: `none` and HS* are refused before any key is looked
 *      up, which is what defeats the "HMAC with the issuer's public key" confusion attack;
 *   3. `iss` against the trusted list: for an untrusted issuer nothing is fetched, ever (Passport
 *      FAQ: no discovery or `jku` for issuers that are not allow-listed), so a token cannot make
 *      the broker call a URL of the attacker's choosing;
 *   4. jose `jwtVerify` with that issuer's remote JWKS (cached; jose refetches once on an unknown
 *      `kid`, at most once per cooldown), the issuer, audience, `exp`/`nbf` and clock tolerance.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as jose,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AuthError } from './errors';
import { createOpaqueVerifier, looksLikeJwt, type OpaqueTokenSource } from './opaque';
import type { Principal } from './principal';

export { AuthError, isAuthError, type AuthErrorReason } from './errors';
export { ownerKey, type Principal } from './principal';
export { bearerAuth, type AuthEnv, type AuthVariables, type BearerAuthOptions } from './middleware';

/**
 * Asymmetric only. A resource server holds no shared secret with the IdP, so an HS* token can only
 * be a forgery (typically keyed with the issuer's *public* key); `none` is not a signature at all.
 */
export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'] as const;

/**
 * Real access tokens are 1-3 KB; a Passport-scoped one with many claims stays well under 8 KB.
 * Anything bigger is refused before it is base64-decoded or JSON-parsed.
 */
// Real GA4GH passports carried in a token reach tens of KB; the server takes 64 KB of headers.
export const MAX_TOKEN_LENGTH = 56 * 1024;

/**
 * `typ` values an access token may carry: RFC 9068 `at+jwt`, plain `JWT` (AAI 1.2 allows it, and
 * Keycloak and others use it), or none. Anything else is some other JWT (a GA4GH Passport
 * `vnd.ga4gh.passport+jwt`, a Visa, a logout token...) being replayed as an access token.
 */
const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt', 'application/jwt']);

export interface TrustedIssuer {
  /** Exactly the `iss` the tokens carry (OIDC compares issuers as strings, byte for byte). */
  issuer: string;
  /** Where the keys are. Default: `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
  jwksUri?: string;
  /**
   * Required `aud` (any one of them). Configure it in production: without it, a token the same
   * IdP minted for some other service is accepted here too.
   */
  audience?: string | string[];
  /** How the issuer answers for opaque (non-JWT) access tokens: introspection or UserInfo. */
  opaque?: Omit<OpaqueTokenSource, 'issuer' | 'audience'>;
}

export interface TokenVerifierOptions {
  issuers: TrustedIssuer[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockToleranceSec?: number;
  /** Timeout of each discovery or JWKS request, in milliseconds. Default 5000. */
  fetchTimeoutMs?: number;
  /**
   * Minimum time between two JWKS refetches caused by an unknown `kid`, in milliseconds. It is
   * what stops a flood of tokens with random `kid`s from becoming a flood of requests to the IdP.
   * Default 30000 (jose's).
   */
  jwksCooldownMs?: number;
  /** How long fetched keys are used before they are fetched again anyway. Default 10 minutes. */
  jwksCacheMaxAgeMs?: number;
  /** Optional upper bound on token age from `iat`, in seconds. Default: no bound beyond `exp`. */
  maxTokenAgeSec?: number;
}

export interface TokenVerifier {
  /** Resolves with who the caller is; rejects with an `AuthError` and nothing else. */
  verify(token: string): Promise<Principal>;
  /** The trusted issuers, for service-info / error messages. */
  readonly issuers: readonly string[];
}

type KeyResolver = ReturnType<typeof createRemoteJWKSet>;

interface IssuerEntry {
  config: TrustedIssuer;
  /** Created on first use; reset on failure so that the next request tries again. */
  keys?: Promise<KeyResolver>;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const clockTolerance = options.clockToleranceSec ?? 30;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 5000;
  const entries = new Map<string, IssuerEntry>();

  if (options.issuers.length === 0) {
    throw new TypeError('createTokenVerifier: at least one trusted issuer is required');
  }
  for (const config of options.issuers) {
    assertHttpUrl(config.issuer, 'issuer');
    if (config.jwksUri !== undefined) assertHttpUrl(config.jwksUri, 'jwksUri');
    if (entries.has(config.issuer)) {
      throw new TypeError(`createTokenVerifier: issuer ${config.issuer} is listed twice`);
    }
    entries.set(config.issuer, { config });
  }
  const trustedList = [...entries.keys()];
  const opaque = createOpaqueVerifier(
    options.issuers.flatMap((i) => (i.opaque ? [{ issuer: i.issuer, ...i.opaque, ...(i.audience !== undefined ? { audience: i.audience } : {}) }] : [])),
    fetchTimeoutMs,
  );

  const keysFor = (entry: IssuerEntry): Promise<KeyResolver> => {
    // One discovery per issuer, shared by concurrent requests. A failure is not cached: the next
    // request tries again (each attempt is bounded by the fetch timeout).
    // The discovered jwks_uri is then kept for the life of the process (keys rotate, their URL
    // practically never moves; a restart picks up a new one).
    if (entry.keys !== undefined) return entry.keys;
    const pending = (async () => {
      const { issuer, jwksUri } = entry.config;
      const url = jwksUri !== undefined ? new URL(jwksUri) : await discoverJwksUri(issuer, fetchTimeoutMs);
      return createRemoteJWKSet(url, {
        timeoutDuration: fetchTimeoutMs,
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
        cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
      });
    })();
    entry.keys = pending;
    pending.catch(() => {
      if (entry.keys === pending) entry.keys = undefined;
    });
    return pending;
  };

  const keyGetter = (entry: IssuerEntry): JWTVerifyGetKey => async (header, token) => {
    const resolve = await keysFor(entry);
    try {
      return await resolve(header, token);
    } catch (err) {
      // These two say something about the token (its `kid`), not about the issuer's health.
      if (err instanceof jose.JWKSNoMatchingKey || err instanceof jose.JWKSMultipleMatchingKeys) throw err;
      // Everything else (timeout, refused connection, non-200, not JSON, not a JWKS) is the
      // issuer's side being unavailable or broken.
      throw unavailable(entry.config.issuer, err);
    }
  };

  async function verify(token: string): Promise<Principal> {
    if (typeof token !== 'string' || token.length === 0) {
      throw new AuthError('missing', 'No access token was sent. Send it as "Authorization: Bearer <token>".');
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new AuthError('malformed', `The access token is longer than ${MAX_TOKEN_LENGTH / 1024} KB, which no issuer we trust produces.`);
    }

    if (opaque.enabled && !looksLikeJwt(token)) return opaque.verify(token);

    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch (cause) {
      throw new AuthError('malformed', 'The access token is not a signed JWT (JWS compact serialization). Send the access_token your identity provider issued, not an ID token, refresh token or opaque token.', { cause });
    }

    const alg = header.alg;
    if (typeof alg !== 'string' || !(ACCEPTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new AuthError('unsupported_alg', `The access token is signed with "${printable(String(alg))}", which is not accepted. Accepted: ${ACCEPTED_ALGORITHMS.join(', ')}.`);
    }
    if (header.typ !== undefined && !ACCESS_TOKEN_TYPES.has(String(header.typ).toLowerCase())) {
      throw new AuthError('wrong_token_type', `The JWT sent is of type "${printable(String(header.typ))}", not an access token. Send the access_token your identity provider issued.`);
    }

    const iss = unverified.iss;
    if (typeof iss !== 'string' || iss.length === 0) {
      throw new AuthError('malformed', 'The access token has no "iss" claim, so its issuer cannot be trusted.');
    }
    const entry = entries.get(iss);
    if (entry === undefined) {
      throw new AuthError('untrusted_issuer', `Tokens from issuer "${printable(iss)}" are not accepted here. Get a token from: ${trustedList.join(', ')}.`);
    }

    const { issuer, audience } = entry.config;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keyGetter(entry), {
        algorithms: [...ACCEPTED_ALGORITHMS],
        issuer,
        audience,
        clockTolerance,
        // A bearer token without `exp` would be valid forever; AAI 1.2 and RFC 9068 require it.
        requiredClaims: ['exp'],
        maxTokenAge: options.maxTokenAgeSec,
      }));
    } catch (err) {
      throw explain(err, entry.config);
    }

    // jose checks `iat` only together with maxTokenAge; a token minted in the future means a
    // broken clock at the issuer (or a forged token) either way.
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000) + clockTolerance) {
      throw new AuthError('not_yet_valid', `The access token was issued in the future ("iat"); check the clock of ${issuer}.`);
    }

    return toPrincipal(issuer, payload);
  }

  return { verify, issuers: trustedList };
}

/**
 * `sub` is the caller. RFC 9068 makes `sub` REQUIRED and says that for client_credentials it is
 * the client's own id (oidc-provider does exactly that), but several IdPs omit it from
 * client_credentials tokens (Keycloak >= 25 "lightweight" tokens or clients without the `basic`
 * scope, some Cognito/Entra set-ups). There the acting party is the client itself, so `client_id`
 * is the only stable identity to own runs; without either the token is refused, because an owner
 * must never be guessed.
 */
function toPrincipal(issuer: string, claims: JWTPayload): Principal {
  const clientId = stringClaim(claims.client_id) ?? stringClaim(claims.azp);
  const subject = stringClaim(claims.sub) ?? stringClaim(claims.client_id);
  if (subject === undefined) {
    throw new AuthError('malformed', 'The access token names no subject ("sub") and no client ("client_id"), so it cannot identify a caller.');
  }
  return { issuer, subject, ...(clientId !== undefined && { clientId }), scopes: scopesOf(claims), claims };
}

function scopesOf(claims: JWTPayload): string[] {
  const raw = claims.scope ?? claims.scp;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : [];
  return [...new Set(list.filter((s): s is string => typeof s === 'string' && s.length > 0))];
}

const stringClaim = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Turns whatever jose (or the key getter) threw into an AuthError with an actionable message. */
function explain(err: unknown, { issuer, audience }: TrustedIssuer): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof jose.JWTExpired) {
    return new AuthError('expired', `The access token has expired. Get a new one from ${issuer}.`, { cause: err });
  }
  if (err instanceof jose.JWTClaimValidationFailed) {
    // A missing `aud` is as wrong as a different one: either way the token was not minted for us.
    if (err.reason === 'missing' && err.claim !== 'aud') {
      return new AuthError('malformed', `The access token lacks the required "${printable(err.claim)}" claim.`, { cause: err });
    }
    switch (err.claim) {
      case 'aud': {
        const wanted = Array.isArray(audience) ? audience.join(' or ') : String(audience);
        return new AuthError('wrong_audience', `The access token was issued for another service. Ask ${issuer} for a token whose audience is ${wanted} (OAuth "resource" or "audience" parameter).`, { cause: err });
      }
      case 'nbf':
      case 'iat':
        return new AuthError('not_yet_valid', `The access token is not valid yet ("${err.claim}" is in the future); wait, or check the clock of ${issuer}.`, { cause: err });
      case 'iss':
        return new AuthError('untrusted_issuer', 'The access token\'s issuer is not trusted here.', { cause: err });
      default:
        return new AuthError('malformed', `The access token's "${printable(err.claim)}" claim is invalid.`, { cause: err });
    }
  }
  if (err instanceof jose.JWKSNoMatchingKey) {
    return new AuthError('bad_signature', `The access token was signed with a key that ${issuer} does not publish (unknown "kid"). Get a new token.`, { cause: err });
  }
  if (err instanceof jose.JWKSMultipleMatchingKeys) {
    return new AuthError('bad_signature', `The access token has no "kid" and ${issuer} publishes several keys, so its signing key cannot be chosen.`, { cause: err });
  }
  if (err instanceof jose.JWSSignatureVerificationFailed) {
    return new AuthError('bad_signature', `The access token's signature does not match any key of ${issuer}: it was altered or not issued there. Get a new token.`, { cause: err });
  }
  if (err instanceof jose.JOSEAlgNotAllowed || err instanceof jose.JOSENotSupported) {
    return new AuthError('unsupported_alg', `The access token's algorithm is not accepted. Accepted: ${ACCEPTED_ALGORITHMS.join(', ')}.`, { cause: err });
  }
  // JWSInvalid, JWTInvalid, a TypeError on a weird claim value...: the token is at fault, and the
  // caller gets a 401, never a 500.
  return new AuthError('malformed', 'The access token could not be parsed as a signed JWT.', { cause: err });
}

function unavailable(issuer: string, cause: unknown, detail = 'is unreachable or did not return its signing keys'): AuthError {
  return new AuthError('jwks_unavailable', `The identity provider ${issuer} ${detail}, so the access token cannot be checked right now. This is not a problem with your token; try again shortly.`, { cause });
}

/**
 * OIDC Discovery 1.0: `<issuer>/.well-known/openid-configuration`, whose `issuer` MUST equal the
 * one we asked for (section 4.3). Checking it stops a misconfigured or hijacked metadata document
 * from pointing the broker at somebody else's keys.
 */
async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let res: Response;
  try {
    // No redirects: like jose for the JWKS, the metadata must be served where it is expected.
    res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (cause) {
    throw unavailable(issuer, cause);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw unavailable(issuer, new Error(`discovery returned HTTP ${res.status}`));
  }
  let doc: unknown;
  try {
    doc = await res.json();
  } catch (cause) {
    throw unavailable(issuer, cause, 'returned a discovery document that is not JSON');
  }
  const meta = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
  if (meta.issuer !== issuer) {
    throw unavailable(issuer, new Error('issuer mismatch'), 'publishes discovery metadata for a different issuer (misconfiguration)');
  }
  const jwksUri = meta.jwks_uri;
  if (typeof jwksUri !== 'string' || !isHttpUrl(jwksUri)) {
    throw unavailable(issuer, new Error('no jwks_uri'), 'publishes no usable jwks_uri in its discovery metadata');
  }
  return new URL(jwksUri);
}

/** `URL.parse` needs Node 20.18; the engines field allows 20.12. */
function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

function isHttpUrl(value: string): boolean {
  const url = parseUrl(value);
  return url !== null && (url.protocol === 'https:' || url.protocol === 'http:');
}

function assertHttpUrl(value: string, what: string): void {
  const url = parseUrl(value);
  // An issuer with a query or fragment is not an OIDC issuer (OIDC Discovery 3); refusing it at
  // start-up beats failing every request later.
  if (url === null || !isHttpUrl(value) || url.search !== '' || url.hash !== '') {
    throw new TypeError(`createTokenVerifier: ${what} "${value}" must be an http(s) URL without query or fragment`);
  }
}

/**
 * Attacker-chosen text (the unverified `iss`, `alg`, `typ`) goes into messages and into the
 * WWW-Authenticate header: keep it short and to characters that are safe in a quoted-string.
 */
function printable(text: string, max = 100): string {
  const clean = text.replace(/[^\x20-\x7e]|["\\]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
