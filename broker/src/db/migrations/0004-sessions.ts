import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Portal login (issue 3): server-side sessions and the authorization requests in flight.
 *
 * `sessions.id` is the SHA-256 of the cookie value, never the value; tokens are sealed with the
 * broker's key ring (crypto/box.ts). `expires_at` is the access token's expiry (what silent refresh
 * watches), `session_expires_at` the absolute end of the session, whatever refreshes happen.
 *
 * `pending_logins` holds `state` (hashed), `nonce`, the PKCE `code_verifier` (sealed) and where to
 * go afterwards, for at most a few minutes. A row is taken with DELETE ... RETURNING, so a state is
 * good for exactly one callback, on any replica.
 */
export class Sessions1763900000002 implements MigrationInterface {
  name = 'Sessions1763900000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sessions (
        id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
        issuer text NOT NULL,
        subject text NOT NULL,
        access_token_sealed text NOT NULL,
        refresh_token_sealed text,
        id_token_claims jsonb,
        expires_at timestamptz NOT NULL,
        session_expires_at timestamptz NOT NULL,
        refreshed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        csrf_secret text NOT NULL
      )`);
    // "Log out everywhere" and the admin view look sessions up by owner; the sweep by end time.
    await q.query(`CREATE INDEX sessions_owner ON sessions (issuer, subject)`);
    await q.query(`CREATE INDEX sessions_session_expires_at ON sessions (session_expires_at)`);
    await q.query(`
      CREATE TABLE pending_logins (
        state_hash text PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
        binding_hash text NOT NULL,
        nonce text NOT NULL,
        code_verifier_sealed text NOT NULL,
        return_to text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX pending_logins_expires_at ON pending_logins (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE pending_logins`);
    await q.query(`DROP TABLE sessions`);
  }
}
