/**
 * The audit trail must never become a place where credentials are kept: free text and details
 * are scrubbed of anything that looks like one before they are stored. This is a net under the
 * callers, who should not pass secrets in the first place.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets whatever they look like. */
const SECRET_KEY = /(^|[_-])(password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|id_token|authorization|cookie|set_cookie|api[_-]?key|private[_-]?key|credential_value)$/i;

const RULES: Array<[RegExp, (match: string, ...groups: string[]) => string]> = [
  // JWS (three parts) and JWE (five parts): base64url JSON headers always begin with "eyJ".
  [/eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){0,3}/g, () => `${REDACTED}`],
  // "Bearer <token>" (RFC 6750 b64token). Plain words after "Bearer" ("Bearer authentication")
  // are kept: a token of only letters and shorter than 20 is not a credential worth the noise.
  [
    /\b(Bearer)(\s+)([A-Za-z0-9\-._~+/]+=*)/gi,
    (m, scheme, space, token) => (token.length >= 20 || /[^A-Za-z]/.test(token) ? `${scheme}${space}${REDACTED}` : m),
  ],
  // Credentials in URLs: https://user:secret@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]+):([^\s@/]+)@/gi, (_m, head) => `${head}:${REDACTED}@`],
  // key=value pairs in query strings and messages: password=..., access_token=...
  [
    /\b(password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|id_token|api_?key)(=)([^\s&"',;]+)/gi,
    (_m, key, sep) => `${key}${sep}${REDACTED}`,
  ],
  // Long base64/base64url runs with mixed case and digits: keys, opaque tokens, encrypted blobs.
  // Hex (checksums) and lower-case paths or ids are left alone.
  [
    /[A-Za-z0-9+/_-]{40,}={0,2}/g,
    (m) => (/[A-Z]/.test(m) && /[a-z]/.test(m) && /[0-9]/.test(m) ? REDACTED : m),
  ],
];

/** `text` with anything credential-shaped replaced by `[redacted]`. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const [pattern, replace] of RULES) out = out.replace(pattern, replace as (m: string, ...g: string[]) => string);
  return out;
}

/** Whether a details key names a secret: `password`, `client_secret`, `accessToken`, `api-key`... */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.replace(/([a-z0-9])([A-Z])/g, '$1_$2'));
}
