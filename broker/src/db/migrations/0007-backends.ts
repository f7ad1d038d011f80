import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The registry of services (issue 5).
 *
 * - `backends`: every backend the broker knows, from CONFIG_FILE (`source = 'config'`, upserted
 *   at start-up) or the admin API (`source = 'admin'`). `settings` is the kind's configuration and
 *   `limits` its limits, both validated by the config file's zod schema before they are written
 *   and again when read. Secrets are never here: config backends keep `token`/`tokenEnv`/`tokenFile`
 *   in the file, admin ones have a service-account credential in the vault (`credentials`, owner
 *   null), of which only the fingerprint is copied here so that a new secret changes the row.
 *   `enabled = false` is an administrator's switch; `deactivated_at` is the health monitor's.
 *   Either means no new runs; runs in flight are still followed.
 * - `version` goes up by one, and `updated_at` moves, on every UPDATE that changes something
 *   (a trigger, so no writer can forget): replicas compare it to what they hold and reload only
 *   the rows that changed.
 * - `backend_health`: one row per probe (when, whether it answered, how fast, what it said),
 *   kept for HEALTH_HISTORY_RETENTION.
 * - `backend_states.failing_since`: the first failure of the current outage, by probes and run
 *   calls alike (auto-deactivation counts from it); `next_check_at`: the probe claim that makes
 *   one replica, not all, probe a backend per interval.
 */
export class Backends1764000000150 implements MigrationInterface {
  name = 'Backends1764000000150';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE backends (
        id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        kind text NOT NULL CHECK (kind IN ('cloudgene', 'wes', 'dnastack')),
        name text NOT NULL,
        url text NOT NULL CHECK (url ~ '^https?://'),
        location text,
        settings jsonb NOT NULL DEFAULT '{}',
        limits jsonb NOT NULL DEFAULT '{}',
        secret_fingerprint text,
        enabled boolean NOT NULL DEFAULT true,
        disabled_at timestamptz,
        disabled_by text,
        disabled_reason text,
        deactivated_at timestamptz,
        deactivated_reason text,
        source text NOT NULL CHECK (source IN ('config', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1,
        CHECK (enabled OR disabled_at IS NOT NULL)
      )`);
    await q.query(`
      CREATE FUNCTION backends_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW IS DISTINCT FROM OLD THEN
          NEW.version := OLD.version + 1;
          NEW.updated_at := now();
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER backends_version BEFORE UPDATE ON backends FOR EACH ROW EXECUTE FUNCTION backends_bump_version()`);
    await q.query(`
      CREATE TABLE backend_health (
        backend_id text NOT NULL,
        at timestamptz NOT NULL,
        ok boolean NOT NULL,
        latency_ms integer,
        detail text,
        PRIMARY KEY (backend_id, at)
      )`);
    await q.query(`CREATE INDEX backend_health_at ON backend_health (at)`);
    await q.query(`ALTER TABLE backend_states ADD COLUMN failing_since timestamptz`);
    await q.query(`ALTER TABLE backend_states ADD COLUMN next_check_at timestamptz`);
    // An outage that began before this migration starts counting now.
    await q.query(`UPDATE backend_states SET failing_since = now() WHERE NOT healthy`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backend_states DROP COLUMN next_check_at`);
    await q.query(`ALTER TABLE backend_states DROP COLUMN failing_since`);
    await q.query(`DROP TABLE backend_health`);
    await q.query(`DROP TABLE backends`);
    await q.query(`DROP FUNCTION backends_bump_version()`);
  }
}
