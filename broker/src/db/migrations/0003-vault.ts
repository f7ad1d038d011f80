import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The credential vault: one secret per owner and backend, sealed (AES-256-GCM, see crypto/box.ts).
 * A null owner is the broker's own service account for that backend.
 */
export class Vault1763900000001 implements MigrationInterface {
  name = 'Vault1763900000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE credentials (
        id uuid PRIMARY KEY,
        owner_issuer text,
        owner_subject text,
        backend_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('api_token', 'oauth_client')),
        sealed text NOT NULL,
        key_id text NOT NULL,
        label text,
        fingerprint text NOT NULL,
        expires_at timestamptz,
        verified_at timestamptz,
        valid boolean,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((owner_issuer IS NULL) = (owner_subject IS NULL))
      )`);
    // Two partial indexes rather than UNIQUE NULLS NOT DISTINCT: that needs PostgreSQL 15, and a
    // plain unique constraint would let a backend have any number of service accounts.
    await q.query(`CREATE UNIQUE INDEX credentials_user_backend ON credentials (owner_issuer, owner_subject, backend_id) WHERE owner_issuer IS NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX credentials_service_backend ON credentials (backend_id) WHERE owner_issuer IS NULL`);
    // Rotation looks for rows not yet under the new key.
    await q.query(`CREATE INDEX credentials_key_id ON credentials (key_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE credentials`);
  }
}
