/**
 * The two cookies of the portal login and the rules around them.
 *
 * - the session cookie holds 32 random bytes (base64url); the database keeps only their SHA-256, so
 *   a copy of the `sessions` table cannot be replayed as cookies;
 * - the login-binding cookie ties an authorization request to the browser that started it, so a
 *   callback URL lured from someone else's login (login CSRF) finds no matching binding and fails.
 *
 * Both are HttpOnly, SameSite=Lax (sent on the IdP's top-level redirect back to us, never on a
 * cross-site POST), Path=/, and Secure with the `__Host-` prefix whenever the public URL is https.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieOptions } from 'hono/utils/cookie';

export interface CookieSettings {
  /** `__Host-session` on https, `session` on plain http (loopback demos, tests). */
  session: string;
  /** `__Host-login` on https, `login` on plain http. */
  login: string;
  secure: boolean;
}

export function cookieSettings(publicUrl: string): CookieSettings {
  const secure = new URL(publicUrl).protocol === 'https:';
  return { session: secure ? '__Host-session' : 'session', login: secure ? '__Host-login' : 'login', secure };
}

export function cookieOptions(settings: CookieSettings, maxAgeSec: number): CookieOptions {
  return { httpOnly: true, sameSite: 'Lax', path: '/', secure: settings.secure, maxAge: maxAgeSec };
}

/** 32 random bytes, base64url: a cookie value, a state, a CSRF secret. */
export const randomToken = (): string => randomBytes(32).toString('base64url');

/** What a random token must look like before it is hashed or looked up (43 base64url characters). */
export const isRandomToken = (value: string | undefined): value is string => value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value);

/** SHA-256 (hex) of a random token: the only form a cookie value or a state is stored in. */
export const tokenHash = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

export function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `return_to` of `/auth/login`: only a path on this site, returned as path + query + fragment, or
 * null. `//evil.example`, `/\evil.example`, `https://evil.example`, `javascript:` and anything with
 * control characters are refused: browsers read several of them as another host.
 */
export function safeReturnTo(value: string | undefined, publicUrl: string): string | null {
  if (value === undefined || value === '') return '/';
  if (value.length > 2048 || !value.startsWith('/') || value.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, publicUrl);
  } catch {
    return null;
  }
  if (url.origin !== new URL(publicUrl).origin) return null;
  // The callback itself would loop, the login again.
  if (url.pathname === '/auth/callback') return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
