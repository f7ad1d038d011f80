/**
 * Portal login (issue 3): OIDC authorization code + PKCE with openid-client, server-side sessions
 * in PostgreSQL behind an HttpOnly cookie, silent refresh, logout, CSRF tokens. Routes are in
 * api/auth_routes.ts; `sessionAuth.middleware` makes every API accept the session cookie.
 */
import type { DataSource } from 'typeorm';
import type { AuditLog } from '../../audit/log';
import type { SecretBox } from '../../crypto/box';
import type { Logger } from '../../logging';
import { createSessionAuth, type SessionAuth } from './middleware';
import { createOidcLogin, type OidcLogin, type OidcLoginOptions } from './oidc';
import { createSessionStore, type SessionStore, type SessionStoreOptions } from './store';

export { cookieSettings, safeReturnTo, tokenHash, type CookieSettings } from './cookies';
export { CSRF_FIELD, CSRF_HEADER, csrfToken } from './csrf';
export { createSessionAuth, type CurrentSession, type SessionAuth, type SessionAuthOptions } from './middleware';
export { createOidcLogin, isProviderRefusal, type OidcLogin, type OidcLoginOptions } from './oidc';
export { createSessionStore, type Session, type SessionStore, type SessionStoreOptions } from './store';

/** Everything the login routes and the session middleware share. */
export interface PortalLogin {
  sessions: SessionStore;
  login: OidcLogin;
  sessionAuth: SessionAuth;
  publicUrl: string;
}

export interface PortalLoginOptions {
  ds: DataSource;
  box: SecretBox;
  publicUrl: string;
  oidc: OidcLoginOptions;
  log?: Logger;
  audit?: AuditLog;
  store?: SessionStoreOptions;
  refreshLeewaySec?: number;
}

export function createPortalLogin(o: PortalLoginOptions): PortalLogin {
  const sessions = createSessionStore(o.ds, o.box, o.store);
  const login = createOidcLogin(o.oidc);
  const sessionAuth = createSessionAuth({
    sessions,
    login,
    publicUrl: o.publicUrl,
    ...(o.log ? { log: o.log } : {}),
    ...(o.audit ? { audit: o.audit } : {}),
    ...(o.refreshLeewaySec !== undefined ? { refreshLeewaySec: o.refreshLeewaySec } : {}),
  });
  return { sessions, login, sessionAuth, publicUrl: o.publicUrl };
}
