/**
 * CSRF protection for requests authenticated by the session cookie: a synchronizer token.
 *
 * The token is HMAC-SHA256(key = the session's `csrf_secret`, message = the cookie value). The
 * portal reads it from `GET /auth/session` (same-origin only: no CORS) and sends it back as the
 * `X-CSRF-Token` header, or as the `_csrf` field of a urlencoded form. A cross-site page can make
 * the browser send the cookie (at most on top-level GETs, SameSite=Lax) but can read neither the
 * cookie nor `/auth/session`, so it cannot produce the token. Binding the token to the cookie
 * value means the database alone (which holds the secret but not the cookie) cannot either.
 *
 * Bearer-token requests need no token: a browser never attaches an Authorization header on its own.
 */
import { createHmac } from 'node:crypto';
import type { Context } from 'hono';
import { equalStrings } from './cookies';

export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

/** GET, HEAD and OPTIONS change nothing (and every route of the broker keeps it that way). */
export const isStateChanging = (method: string): boolean => !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());

export function csrfToken(csrfSecret: string, cookie: string): string {
  return createHmac('sha256', csrfSecret).update(cookie, 'utf8').digest('base64url');
}

/** Largest urlencoded body looked into for `_csrf`; anything bigger must use the header. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * The token the request carries: the header, else `_csrf` of a small urlencoded form. The form is
 * read from a clone, so the route still gets the body; multipart bodies (uploads) are never read
 * here, they stream to their route untouched, so they must use the header.
 */
export async function presentedCsrfToken(c: Context): Promise<string | undefined> {
  const header = c.req.header(CSRF_HEADER);
  if (header !== undefined && header !== '') return header;
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const length = Number(c.req.header('content-length') ?? NaN);
  if (type !== 'application/x-www-form-urlencoded' || !Number.isFinite(length) || length > MAX_FORM_BYTES) return undefined;
  try {
    const form = new URLSearchParams(await c.req.raw.clone().text());
    return form.get(CSRF_FIELD) ?? undefined;
  } catch {
    return undefined;
  }
}

export function csrfMatches(presented: string | undefined, csrfSecret: string, cookie: string): boolean {
  return presented !== undefined && presented.length < 200 && equalStrings(presented, csrfToken(csrfSecret, cookie));
}
