/**
 * Hono middleware: `Authorization: Bearer <jwt>` -> `c.get('principal')`, or a WES-shaped error.
 *
 * Status and challenge, following RFC 6750 section 3:
 * - no credentials, or another scheme (Basic...): 401 with a bare `Bearer realm="ga4gh"`
 *   challenge. 3.1 says a server SHOULD NOT add an error code when the client sent no bearer
 *   token at all (it may simply not know that authentication is needed).
 * - a Bearer header that is syntactically broken (empty, illegal characters, oversized):
 *   `error="invalid_request"`, still 401 rather than 400 because WES declares 401 on every
 *   operation but 400 only on some.
 * - a token that is refused (malformed JWT, bad signature, expired, wrong audience, untrusted
 *   issuer...): 401 `error="invalid_token"`.
 * - the issuer's keys cannot be fetched: 503 with Retry-After and no challenge. The token may
 *   well be valid; a 401 would tell clients to throw it away and log the user out, and an
 *   automated client would then hammer the IdP for new tokens that fail the same way. 503 says
 *   "our dependency is down, retry", which is the truth. It is not a 500: nothing crashed and no
 *   internals are named.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ApiError, unauthorized } from '../http/errors';
import type { TokenVerifier } from './bearer';
import { AuthError } from './errors';
import type { Principal } from './principal';

export type AuthVariables = { principal: Principal };
export type AuthEnv = { Variables: AuthVariables };

export interface BearerAuthOptions {
  /** `realm` of the challenge. Default `ga4gh`. */
  realm?: string;
  /** Seconds to put in Retry-After when the issuer's keys are unavailable. Default 30. */
  retryAfterSec?: number;
  /** Called for every refusal, for logs and audit (the error never holds the token). */
  onRefused?: (err: AuthError, c: Context) => void;
}

/**
 * Longest Authorization header looked at: the token cap plus room for the scheme. Node's own
 * limit on all headers together is 16 KB by default, so this only matters when the server was
 * started with a larger `maxHeaderSize`; either way nothing big is ever parsed.
 */
const MAX_HEADER_LENGTH = 56 * 1024 + 64;

/** RFC 6750 `b64token`, the only thing a Bearer credential may be. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Generic in the app's environment so an app whose Variables hold more than `principal`
 * (`bearerAuth<AppEnv>(verifier)`) can use it without a cast.
 */
export function bearerAuth<E extends AuthEnv = AuthEnv>(verifier: TokenVerifier, options: BearerAuthOptions = {}): MiddlewareHandler<E> {
  const realm = options.realm ?? 'ga4gh';

  /** `headerSyntax`: the header itself is broken (invalid_request), not the token in it. */
  const refuse = (err: AuthError, c: Context, headerSyntax = false): ApiError => {
    options.onRefused?.(err, c);
    if (err.reason === 'jwks_unavailable') {
      return new ApiError(503, err.message, { 'Retry-After': String(options.retryAfterSec ?? 30) });
    }
    if (err.reason === 'missing') return unauthorized(err.message, `Bearer realm="${realm}"`);
    const code = headerSyntax ? 'invalid_request' : 'invalid_token';
    return unauthorized(
      err.message,
      `Bearer realm="${realm}", error="${code}", error_description="${quotable(err.message)}"`,
    );
  };

  return createMiddleware<E>(async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined || header.trim() === '') {
      throw refuse(new AuthError('missing', 'This API needs an access token. Send it as "Authorization: Bearer <token>".'), c);
    }
    if (header.length > MAX_HEADER_LENGTH) {
      throw refuse(new AuthError('malformed', 'The Authorization header is too large to hold an access token.'), c, true);
    }
    if (!/^Bearer(\s|$)/i.test(header)) {
      throw refuse(new AuthError('missing', 'This API accepts only Bearer access tokens. Send "Authorization: Bearer <token>".'), c);
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      throw refuse(new AuthError('malformed', 'The Authorization header is not of the form "Bearer <token>" (RFC 6750).'), c, true);
    }

    let principal: Principal;
    try {
      principal = await verifier.verify(token);
    } catch (err) {
      // The verifier promises AuthError only; anything else is still the token's problem from the
      // client's point of view, and must not turn into a 500 that might echo internals.
      throw refuse(err instanceof AuthError ? err : new AuthError('malformed', 'The access token could not be checked.', { cause: err }), c);
    }
    c.set('principal', principal);
    await next();
  });
}

/** RFC 6750 3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
function quotable(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, "'");
}
