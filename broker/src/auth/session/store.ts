/**
 * Server-side sessions of the portal login, and the authorization requests in flight, in
 * PostgreSQL (plain parameterised SQL, no entity: nothing else reads these tables).
 *
 * What is stored, and what is not:
 * - a session row is keyed by the SHA-256 of the cookie value; the value itself exists only in the
 *   browser, so neither a database dump nor a log line can be replayed as a cookie;
 * - the access and refresh tokens are sealed (AES-256-GCM, crypto/box.ts), so the dump holds no
 *   usable token either; the ID token is kept only as its verified claims (for display);
 * - a pending login keeps the hash of its `state`, the hash of the browser's login-binding cookie,
 *   the `nonce`, the sealed PKCE `code_verifier` and the checked `return_to`.
 *
 * A session ends at whichever comes first: `session_expires_at` (absolute, set at login), idle time
 * since `last_seen_at`, or an expired access token without a refresh token. Ended rows are deleted
 * when met, and by `sweep()`.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { SecretBox } from '../../crypto/box';
import { isRandomToken, randomToken, tokenHash } from './cookies';

export interface SessionTokens {
  accessToken: string;
  /** Null when the identity provider issued none (then the session ends with the access token). */
  refreshToken: string | null;
  /** When the access token expires. */
  expiresAt: Date;
}

export interface NewSession extends SessionTokens {
  issuer: string;
  subject: string;
  idTokenClaims: Record<string, unknown> | null;
}

export interface Session extends NewSession {
  /** SHA-256 (hex) of the cookie value. */
  id: string;
  sessionExpiresAt: Date;
  refreshedAt: Date | null;
  createdAt: Date;
  lastSeenAt: Date;
  /** Keys the CSRF token (csrf.ts); useless without the cookie value. */
  csrfSecret: string;
}

export interface PendingLogin {
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** SHA-256 of the login-binding cookie of the browser that started the login. */
  bindingHash: string;
  expiresAt: Date;
}

export interface SessionStoreOptions {
  /** Longest a session lives, refreshes or not. Default 12 hours. */
  absoluteTtlSec?: number;
  /** Longest a session lives unused. Default 2 hours. */
  idleTtlSec?: number;
  /** How long a login may take at the identity provider. Default 10 minutes. */
  pendingTtlSec?: number;
  now?: () => number;
}

/** What a locked refresh decides: new tokens, keep the session as it is, or end it. */
export type RefreshOutcome = SessionTokens | 'keep' | 'end';

export interface SessionStore {
  readonly absoluteTtlSec: number;
  readonly pendingTtlSec: number;
  /** A new session and the cookie value for it (returned once, stored nowhere). */
  create(session: NewSession): Promise<{ cookie: string; session: Session }>;
  /** The live session a cookie value names, or null (malformed, unknown, ended). */
  find(cookie: string | undefined): Promise<Session | null>;
  /**
   * Runs `decide` with the session row locked (SELECT ... FOR UPDATE), so that two requests, on
   * one replica or several, never both spend the same refresh token. Resolves with the session
   * as it is afterwards, or null when it is gone or was ended.
   */
  refreshLocked(id: string, decide: (current: Session) => Promise<RefreshOutcome>): Promise<Session | null>;
  delete(id: string): Promise<void>;
  /** Ends every session of one person ("log out everywhere", account removal). */
  deleteAllFor(issuer: string, subject: string): Promise<number>;
  /** Deletes ended sessions and stale pending logins; returns how many rows went. */
  sweep(): Promise<number>;
  /** Remembers an authorization request until its callback (or `pendingTtlSec`). */
  beginLogin(login: { state: string; binding: string; nonce: string; codeVerifier: string; returnTo: string }): Promise<void>;
  /** Takes (and so uses up) the login a `state` names; null when unknown, used or expired. */
  takeLogin(state: string): Promise<PendingLogin | null>;
}

interface SessionRow {
  id: string;
  issuer: string;
  subject: string;
  access_token_sealed: string;
  refresh_token_sealed: string | null;
  id_token_claims: Record<string, unknown> | null;
  expires_at: Date;
  session_expires_at: Date;
  refreshed_at: Date | null;
  created_at: Date;
  last_seen_at: Date;
  csrf_secret: string;
}

/** last_seen_at is written at most this often per session, not on every request. */
const TOUCH_EVERY_MS = 60_000;

export function createSessionStore(ds: DataSource, box: SecretBox, options: SessionStoreOptions = {}): SessionStore {
  const absoluteTtlSec = options.absoluteTtlSec ?? 12 * 3600;
  const idleTtlSec = options.idleTtlSec ?? 2 * 3600;
  const pendingTtlSec = options.pendingTtlSec ?? 600;
  const now = options.now ?? Date.now;

  const toSession = (row: SessionRow): Session | null => {
    try {
      return {
        id: row.id,
        issuer: row.issuer,
        subject: row.subject,
        accessToken: box.open(row.access_token_sealed),
        refreshToken: row.refresh_token_sealed === null ? null : box.open(row.refresh_token_sealed),
        idTokenClaims: row.id_token_claims,
        expiresAt: new Date(row.expires_at),
        sessionExpiresAt: new Date(row.session_expires_at),
        refreshedAt: row.refreshed_at === null ? null : new Date(row.refreshed_at),
        createdAt: new Date(row.created_at),
        lastSeenAt: new Date(row.last_seen_at),
        csrfSecret: row.csrf_secret,
      };
    } catch {
      // Sealed under a key no longer in the ring: the session cannot be used, the user logs in again.
      return null;
    }
  };

  const ended = (s: Session): boolean => {
    const t = now();
    return s.sessionExpiresAt.getTime() <= t || s.lastSeenAt.getTime() + idleTtlSec * 1000 <= t || (s.refreshToken === null && s.expiresAt.getTime() <= t);
  };

  const remove = async (id: string, m: Pick<EntityManager, 'query'> = ds): Promise<void> => {
    await m.query('DELETE FROM sessions WHERE id = $1', [id]);
  };

  return {
    absoluteTtlSec,
    pendingTtlSec,

    async create(s) {
      const cookie = randomToken();
      const id = tokenHash(cookie);
      const created = new Date(now());
      const sessionExpiresAt = new Date(created.getTime() + absoluteTtlSec * 1000);
      const rows = (await ds.query(
        `INSERT INTO sessions (id, issuer, subject, access_token_sealed, refresh_token_sealed, id_token_claims, expires_at, session_expires_at, created_at, last_seen_at, csrf_secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING *`,
        [
          id,
          s.issuer,
          s.subject,
          box.seal(s.accessToken),
          s.refreshToken === null ? null : box.seal(s.refreshToken),
          s.idTokenClaims === null ? null : JSON.stringify(s.idTokenClaims),
          s.expiresAt,
          sessionExpiresAt,
          created,
          randomToken(),
        ],
      )) as SessionRow[];
      return { cookie, session: toSession(rows[0]!)! };
    },

    async find(cookie) {
      if (!isRandomToken(cookie)) return null;
      const id = tokenHash(cookie);
      const rows = (await ds.query('SELECT * FROM sessions WHERE id = $1', [id])) as SessionRow[];
      const row = rows[0];
      if (row === undefined) return null;
      const session = toSession(row);
      if (session === null || ended(session)) {
        await remove(id);
        return null;
      }
      if (now() - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
        const seen = new Date(now());
        await ds.query('UPDATE sessions SET last_seen_at = $2 WHERE id = $1', [id, seen]);
        session.lastSeenAt = seen;
      }
      return session;
    },

    async refreshLocked(id, decide) {
      return ds.transaction(async (m) => {
        const rows = (await m.query('SELECT * FROM sessions WHERE id = $1 FOR UPDATE', [id])) as SessionRow[];
        const current = rows[0] === undefined ? null : toSession(rows[0]);
        if (current === null) {
          if (rows[0] !== undefined) await remove(id, m);
          return null;
        }
        const outcome = await decide(current);
        if (outcome === 'keep') return current;
        if (outcome === 'end') {
          await remove(id, m);
          return null;
        }
        // TypeORM answers UPDATE and DELETE with [rows, count].
        const [updated] = (await m.query(
          `UPDATE sessions SET access_token_sealed = $2, refresh_token_sealed = $3, expires_at = $4, refreshed_at = $5
           WHERE id = $1 RETURNING *`,
          [id, box.seal(outcome.accessToken), outcome.refreshToken === null ? null : box.seal(outcome.refreshToken), outcome.expiresAt, new Date(now())],
        )) as [SessionRow[], number];
        return updated[0] === undefined ? null : toSession(updated[0]);
      });
    },

    delete: (id) => remove(id),

    async deleteAllFor(issuer, subject) {
      const result = (await ds.query('DELETE FROM sessions WHERE issuer = $1 AND subject = $2 RETURNING id', [issuer, subject])) as [unknown[], number];
      return result[1];
    },

    async sweep() {
      const t = new Date(now());
      const idleSince = new Date(t.getTime() - idleTtlSec * 1000);
      const [, sessions] = (await ds.query(
        `DELETE FROM sessions WHERE session_expires_at <= $1 OR last_seen_at <= $2 OR (refresh_token_sealed IS NULL AND expires_at <= $1) RETURNING id`,
        [t, idleSince],
      )) as [unknown[], number];
      const [, pending] = (await ds.query('DELETE FROM pending_logins WHERE expires_at <= $1 RETURNING state_hash', [t])) as [unknown[], number];
      return sessions + pending;
    },

    async beginLogin(l) {
      const t = now();
      // Stale rows go on the way in: no timer needed for a table that only grows with logins.
      await ds.query('DELETE FROM pending_logins WHERE expires_at <= $1', [new Date(t)]);
      await ds.query(
        `INSERT INTO pending_logins (state_hash, binding_hash, nonce, code_verifier_sealed, return_to, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [tokenHash(l.state), tokenHash(l.binding), l.nonce, box.seal(l.codeVerifier), l.returnTo, new Date(t), new Date(t + pendingTtlSec * 1000)],
      );
    },

    async takeLogin(state) {
      if (state.length === 0 || state.length > 512) return null;
      const [rows] = (await ds.query('DELETE FROM pending_logins WHERE state_hash = $1 RETURNING *', [tokenHash(state)])) as [
        { binding_hash: string; nonce: string; code_verifier_sealed: string; return_to: string; expires_at: Date }[],
        number,
      ];
      const row = rows[0];
      if (row === undefined || new Date(row.expires_at).getTime() <= now()) return null;
      try {
        return {
          nonce: row.nonce,
          codeVerifier: box.open(row.code_verifier_sealed),
          returnTo: row.return_to,
          bindingHash: row.binding_hash,
          expiresAt: new Date(row.expires_at),
        };
      } catch {
        return null;
      }
    },
  };
}
