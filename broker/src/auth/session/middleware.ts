/**
 * `sessionAuth`: lets every API accept the portal's session cookie where it accepts a bearer token,
 * with the same result. For a request without an `Authorization` header but with a live session
 * cookie it
 *
 *   1. refuses a state-changing method (POST, PUT, PATCH, DELETE) without the session's CSRF
 *      token: 403 `{msg, status_code}` (csrf.ts);
 *   2. refreshes the access token when it expires within `refreshLeewaySec` (silent refresh);
 *   3. puts the session's access token into the request as `Authorization: Bearer <token>`.
 *
 * Step 3 is the whole integration: the bearer middleware (`deps.authenticate`) downstream then
 * verifies that token with the very verifier, error messages and audit hook a bearer client gets,
 * and sets `principal`; the passport lookup in access.ts, which reads the raw token from the
 * header, finds it there too. A cookie session is never a weaker or different path: it is the
 * same token, checked the same way. A request that does carry `Authorization` is left alone
 * (bearer wins, cookies are ignored, no CSRF token is needed: browsers never add that header
 * by themselves). No session, an unknown or tampered cookie: nothing is added, so the API answers
 * 401 exactly as it would without a cookie.
 *
 * Paths under `/auth/` (the login routes) are skipped: they manage the cookie themselves.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { AuditLog } from '../../audit/log';
import { errorBody } from '../../http/errors';
import type { Logger } from '../../logging';
import { cookieSettings, type CookieSettings } from './cookies';
import { csrfMatches, isStateChanging, presentedCsrfToken } from './csrf';
import { isProviderRefusal, providerError, type OidcLogin } from './oidc';
import type { Session, SessionStore } from './store';

export interface SessionAuthOptions {
  sessions: SessionStore;
  login: Pick<OidcLogin, 'refresh'>;
  /** The broker's public base URL: https there means `__Host-` cookies with `Secure`. */
  publicUrl: string;
  log?: Logger;
  audit?: AuditLog;
  /** Refresh when the access token has less than this left. Default 60 seconds. */
  refreshLeewaySec?: number;
  now?: () => number;
}

export interface CurrentSession {
  session: Session;
  /** The cookie value (to derive the CSRF token; never stored or logged). */
  cookie: string;
}

export interface SessionAuth {
  readonly cookies: CookieSettings;
  /** Hono middleware; register it before the routes: `app.use('*', sessionAuth.middleware)`. */
  readonly middleware: MiddlewareHandler;
  /** The request's live session, refreshed when due, or null. */
  current(c: Context): Promise<CurrentSession | null>;
  /** Clears the session cookie in the response being built. */
  clearCookie(c: Context): void;
}

export function createSessionAuth(o: SessionAuthOptions): SessionAuth {
  const cookies = cookieSettings(o.publicUrl);
  const leewayMs = (o.refreshLeewaySec ?? 60) * 1000;
  const now = o.now ?? Date.now;
  /** One refresh per session at a time in this process; the row lock covers other replicas. */
  const inflight = new Map<string, Promise<Session | null>>();

  const due = (s: Session): boolean => s.expiresAt.getTime() - now() <= leewayMs;

  const refreshNow = (session: Session): Promise<Session | null> =>
    o.sessions.refreshLocked(session.id, async (current) => {
      // Another request (or replica) may have refreshed while this one waited for the lock.
      if (!due(current)) return 'keep';
      if (current.refreshToken === null) return current.expiresAt.getTime() > now() ? 'keep' : 'end';
      try {
        const tokens = await o.login.refresh(current.refreshToken);
        o.log?.info({ issuer: current.issuer }, 'session access token refreshed');
        return tokens;
      } catch (err) {
        if (isProviderRefusal(err)) {
          // The refresh token was revoked, expired or already used: the session is over.
          const refusal = providerError(err);
          o.log?.info({ issuer: current.issuer, error: refusal?.error ?? 'refused' }, 'session refresh refused; session ended');
          await o.audit?.record({
            action: 'auth.session_ended',
            outcome: 'ok',
            actor: { issuer: current.issuer, subject: current.subject },
            reason: `refresh refused by the identity provider (${refusal?.error ?? 'refused'})`,
          });
          return 'end';
        }
        // The provider is unreachable: keep the session and its last token (still good until it
        // expires); the next request tries again. Not a logout for a blip.
        o.log?.warn({ issuer: current.issuer, err: (err as Error).name }, 'session refresh failed; will retry');
        return 'keep';
      }
    });

  const refreshIfDue = (session: Session): Promise<Session | null> => {
    if (!due(session)) return Promise.resolve(session);
    let pending = inflight.get(session.id);
    if (pending === undefined) {
      pending = refreshNow(session).finally(() => inflight.delete(session.id));
      inflight.set(session.id, pending);
    }
    return pending;
  };

  const clearCookie = (c: Context): void => {
    deleteCookie(c, cookies.session, { path: '/', secure: cookies.secure, httpOnly: true, sameSite: 'Lax' });
  };

  async function current(c: Context): Promise<CurrentSession | null> {
    const cookie = getCookie(c, cookies.session);
    if (cookie === undefined) return null;
    const found = await o.sessions.find(cookie);
    if (found === null) return null;
    const session = await refreshIfDue(found);
    return session === null ? null : { session, cookie };
  }

  const middleware = createMiddleware(async (c, next) => {
    const path = c.req.path;
    if (path === '/auth' || path.startsWith('/auth/')) return next();
    const authorization = c.req.header('authorization');
    if (authorization !== undefined && authorization.trim() !== '') return next();
    const cookie = getCookie(c, cookies.session);
    if (cookie === undefined) return next();

    const found = await o.sessions.find(cookie);
    if (found === null) {
      // Unknown, tampered or ended: forget it in the browser; the request goes on anonymous.
      clearCookie(c);
      return next();
    }
    if (isStateChanging(c.req.method) && !csrfMatches(await presentedCsrfToken(c), found.csrfSecret, cookie)) {
      return c.json(
        errorBody(403, 'This request is authenticated by the session cookie and needs its CSRF token: send the csrf_token of GET /auth/session as the X-CSRF-Token header (or the _csrf field of a form).'),
        403,
      );
    }
    const session = await refreshIfDue(found);
    if (session === null) {
      clearCookie(c);
      return next();
    }
    c.req.raw.headers.set('authorization', `Bearer ${session.accessToken}`);
    return next();
  });

  return { cookies, middleware, current, clearCookie };
}
