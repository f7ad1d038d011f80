/**
 * The portal's login (issue 3), served by the broker itself:
 *
 *   GET  /auth/login?return_to=/path  302 to the identity provider (code flow, PKCE S256, state, nonce)
 *   GET  /auth/callback               checks state + login binding, redeems the code, starts the
 *                                     session (HttpOnly cookie), 303 to return_to
 *   POST /auth/logout                 CSRF-checked; ends the session server-side, clears the cookie,
 *                                     points at the identity provider's end-session endpoint
 *   GET  /auth/session                { authenticated, subject, issuer, expires_at, csrf_token }
 *
 * No token ever leaves the server. Every refusal is a 400 (or 403 for CSRF) with a sentence that
 * says what to do, as JSON `{msg, status_code}` or, for a browser asking for HTML, a small page.
 */
import type { Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AuditLog } from '../audit/log';
import { cookieOptions, equalStrings, isRandomToken, randomToken, safeReturnTo, tokenHash } from '../auth/session/cookies';
import { csrfMatches, csrfToken, presentedCsrfToken } from '../auth/session/csrf';
import type { PortalLogin } from '../auth/session/index';
import { isProviderRefusal, providerError } from '../auth/session/oidc';
import type { AppEnv } from '../http/context';
import { errorBody } from '../http/errors';
import type { Logger } from '../logging';

export interface AuthRouteDeps {
  portalLogin: PortalLogin;
  log: Logger;
  audit?: AuditLog;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function wantsHtml(c: Context): boolean {
  const accept = c.req.header('accept') ?? '';
  return accept.includes('text/html') && !accept.startsWith('application/json');
}

/** A refusal: JSON for programs, a page for a browser; never a session. */
function refuse(c: Context, status: ContentfulStatusCode, msg: string): Response {
  c.header('Cache-Control', 'no-store');
  if (wantsHtml(c)) {
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Login failed</title></head><body><h1>Login failed</h1><p>${escapeHtml(msg)}</p><p><a href="/auth/login">Sign in again</a></p></body></html>`,
      status,
    );
  }
  return c.json(errorBody(status, msg), status);
}

export function registerAuthRoutes(app: Hono<AppEnv>, deps: AuthRouteDeps): void {
  const { sessions, login, sessionAuth, publicUrl } = deps.portalLogin;
  const names = sessionAuth.cookies;
  const source = (c: Context) => deps.audit?.source(c) ?? null;

  app.get('/auth/login', async (c) => {
    const returnTo = safeReturnTo(c.req.query('return_to'), publicUrl);
    if (returnTo === null) {
      return refuse(c, 400, 'return_to must be a path on this site, such as /runs; other sites and protocol-relative URLs are refused.');
    }
    let request;
    try {
      request = await login.authorizationRequest();
    } catch (err) {
      deps.log.warn({ issuer: login.issuer, err: (err as Error).message }, 'identity provider discovery failed');
      return refuse(c, 503, `The identity provider ${login.issuer} cannot be reached right now; try again in a moment.`);
    }
    // One binding per browser, shared by logins started in several tabs.
    const existing = getCookie(c, names.login);
    const binding = isRandomToken(existing) ? existing : randomToken();
    await sessions.beginLogin({ state: request.state, binding, nonce: request.nonce, codeVerifier: request.codeVerifier, returnTo });
    setCookie(c, names.login, binding, cookieOptions(names, sessions.pendingTtlSec));
    c.header('Cache-Control', 'no-store');
    return c.redirect(request.url.href, 302);
  });

  app.get('/auth/callback', async (c) => {
    const query = new URL(c.req.url).searchParams;
    const state = query.get('state');
    if (state === null || state === '') return refuse(c, 400, 'The identity provider sent no state; start the login again at /auth/login.');
    // Taken, and so used up, whatever happens next: a state is good for one callback only.
    const pending = await sessions.takeLogin(state);
    if (pending === null) {
      return refuse(c, 400, 'This login is unknown, has expired or was already completed (the state does not match any login in progress). Start again at /auth/login.');
    }
    const binding = getCookie(c, names.login);
    if (!isRandomToken(binding) || !equalStrings(tokenHash(binding), pending.bindingHash)) {
      return refuse(c, 400, 'This login was started in another browser (or its cookie was lost). Start again at /auth/login from this browser.');
    }
    const error = query.get('error');
    if (error !== null) {
      const description = query.get('error_description');
      await deps.audit?.record({ action: 'auth.login', outcome: 'denied', reason: `identity provider: ${error.slice(0, 100)}`, source: source(c) });
      return refuse(c, 400, `The identity provider did not log you in (${error.slice(0, 100)}${description ? `: ${description.slice(0, 300)}` : ''}). Start again at /auth/login.`);
    }

    let result;
    try {
      result = await login.finish(query, { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier });
    } catch (err) {
      if (isProviderRefusal(err)) {
        const refusal = providerError(err);
        const why = refusal ? `${refusal.error}${refusal.description ? `: ${refusal.description}` : ''}` : (err as Error).message;
        await deps.audit?.record({ action: 'auth.login', outcome: 'failed', reason: why.slice(0, 300), source: source(c) });
        return refuse(c, 400, `The login could not be completed (${why.slice(0, 300)}). Start again at /auth/login.`);
      }
      deps.log.warn({ issuer: login.issuer, err: (err as Error).message }, 'code exchange failed');
      return refuse(c, 503, `The identity provider ${login.issuer} cannot be reached right now; start the login again in a moment.`);
    }

    // A fresh session id at every login (no fixation): whatever session this browser had is ended.
    const previous = await sessions.find(getCookie(c, names.session));
    if (previous !== null) await sessions.delete(previous.id);
    const { cookie } = await sessions.create(result);
    setCookie(c, names.session, cookie, cookieOptions(names, sessions.absoluteTtlSec));
    await deps.audit?.record({ action: 'auth.login', outcome: 'ok', actor: { issuer: result.issuer, subject: result.subject }, details: { via: 'portal_session' }, source: source(c) });
    c.header('Cache-Control', 'no-store');
    return c.redirect(pending.returnTo, 303);
  });

  app.post('/auth/logout', async (c) => {
    const cookie = getCookie(c, names.session);
    const session = await sessions.find(cookie);
    if (session !== null && cookie !== undefined) {
      if (!csrfMatches(await presentedCsrfToken(c), session.csrfSecret, cookie)) {
        return c.json(errorBody(403, 'Logging out needs the CSRF token: send the csrf_token of GET /auth/session as the X-CSRF-Token header (or the _csrf form field).'), 403);
      }
      await sessions.delete(session.id);
      if (session.refreshToken !== null) {
        await login.revoke(session.refreshToken).catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'refresh token revocation failed'));
      }
      await deps.audit?.record({ action: 'auth.logout', outcome: 'ok', actor: { issuer: session.issuer, subject: session.subject }, source: source(c) });
    }
    sessionAuth.clearCookie(c);
    const endSession = await login.endSessionUrl().catch(() => null);
    c.header('Cache-Control', 'no-store');
    if (wantsHtml(c)) return c.redirect(endSession?.href ?? '/', 303);
    return c.json({ logged_out: true, end_session_url: endSession?.href ?? null }, 200);
  });

  app.get('/auth/session', async (c) => {
    c.header('Cache-Control', 'no-store');
    const current = await sessionAuth.current(c);
    if (current === null) {
      if (getCookie(c, names.session) !== undefined) sessionAuth.clearCookie(c);
      return c.json({ authenticated: false, subject: null, issuer: null, expires_at: null, session_expires_at: null, csrf_token: null }, 200);
    }
    const { session, cookie } = current;
    const name = session.idTokenClaims?.name;
    return c.json(
      {
        authenticated: true,
        subject: session.subject,
        issuer: session.issuer,
        ...(typeof name === 'string' ? { name } : {}),
        // When the current access token expires (it is refreshed silently before that, while the
        // identity provider allows), and when the session ends at the latest.
        expires_at: session.expiresAt.toISOString(),
        session_expires_at: (session.refreshToken === null && session.expiresAt < session.sessionExpiresAt ? session.expiresAt : session.sessionExpiresAt).toISOString(),
        csrf_token: csrfToken(session.csrfSecret, cookie),
      },
      200,
    );
  });
}
