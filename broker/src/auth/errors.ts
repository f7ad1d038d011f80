/**
 * Why a bearer token was refused. The reason code is for logs, metrics and tests; the message is
 * for the person holding the token, so it says what to do next. Neither ever contains the token:
 * messages are built from fixed text plus, at most, the (length-capped, sanitised) issuer name.
 */
export type AuthErrorReason =
  /** No `Authorization: Bearer ...` header at all (or another scheme, e.g. Basic). */
  | 'missing'
  /** The header or the token is not a well-formed JWS compact JWT, or lacks a required claim. */
  | 'malformed'
  /** The token is a JWT, but not an access token (e.g. a Passport or Visa by its `typ`). */
  | 'wrong_token_type'
  /** `iss` is not in the trusted list: nothing was fetched for it. */
  | 'untrusted_issuer'
  /** Signature does not verify, or the key (`kid`) is not published by the issuer. */
  | 'bad_signature'
  | 'expired'
  /** `nbf` (or `iat`) lies in the future beyond the clock tolerance. */
  | 'not_yet_valid'
  | 'wrong_audience'
  /** `alg` is `none`, HS*, or anything else outside the asymmetric allow-list. */
  | 'unsupported_alg'
  /** The issuer's discovery document or JWKS could not be fetched: not the client's fault. */
  | 'jwks_unavailable';

export class AuthError extends Error {
  readonly reason: AuthErrorReason;

  constructor(reason: AuthErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
    this.reason = reason;
  }
}

export const isAuthError = (err: unknown): err is AuthError => err instanceof AuthError;
