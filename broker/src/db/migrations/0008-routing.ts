import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Routing, failover, limits, batches and schedules (issue 5).
 *
 * - `runs.candidates`: for `backend: auto`, the backends failover may still try, in order
 *   (empty for an explicit backend: no failover). `runs.attempts`: each submission attempt
 *   (backend, started_at, outcome `submitted` | `failed_over` | `failed`, message), shown to
 *   the owner at /api/v1/runs/{id}/routing. `runs.reasons`: why the first backend was chosen.
 * - `runs.not_before`: a scheduled run waits in QUEUED until then (its `next_wake_at` is that
 *   time, so the sweeper finds it after a restart even if the queue lost the delayed job).
 * - `batches`: many runs submitted in one request; `runs.batch_id` names the batch.
 * - `backend_rate`: one row per backend and minute counting calls, shared by every replica:
 *   a backend's `maxRequestsPerMinute` is a cluster-wide limit. `backend_states.paused_until`:
 *   a backend's own `Retry-After` (429), honoured by every replica.
 * - Indexes for the WES list filters (tags, batch, creation time) with keyset paging on `seq`.
 */
export class Routing1764200000000 implements MigrationInterface {
  name = 'Routing1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE batches (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        owner_key text NOT NULL,
        owner_issuer text NOT NULL,
        owner_subject text NOT NULL,
        name text,
        tags jsonb NOT NULL DEFAULT '{}',
        runs_total integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX batches_owner_seq ON batches (owner_key, seq DESC)`);
    await q.query(`ALTER TABLE runs ADD COLUMN batch_id uuid REFERENCES batches(id)`);
    await q.query(`ALTER TABLE runs ADD COLUMN not_before timestamptz`);
    await q.query(`ALTER TABLE runs ADD COLUMN candidates jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`ALTER TABLE runs ADD COLUMN attempts jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`ALTER TABLE runs ADD COLUMN reasons jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`CREATE INDEX runs_batch_seq ON runs (batch_id, seq DESC) WHERE batch_id IS NOT NULL`);
    await q.query(`CREATE INDEX runs_owner_created ON runs (owner_key, created_at)`);
    await q.query(`CREATE INDEX runs_owner_backend_seq ON runs (owner_key, backend_id, seq DESC)`);
    await q.query(`CREATE INDEX runs_owner_state_seq ON runs (owner_key, state, seq DESC)`);
    await q.query(`CREATE INDEX runs_tags ON runs USING gin (tags jsonb_path_ops)`);
    await q.query(`
      CREATE TABLE backend_rate (
        backend_id text NOT NULL,
        window_start timestamptz NOT NULL,
        calls integer NOT NULL,
        PRIMARY KEY (backend_id, window_start)
      )`);
    await q.query(`ALTER TABLE backend_states ADD COLUMN paused_until timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backend_states DROP COLUMN paused_until`);
    await q.query(`DROP TABLE backend_rate`);
    await q.query(`DROP INDEX runs_tags`);
    await q.query(`DROP INDEX runs_owner_state_seq`);
    await q.query(`DROP INDEX runs_owner_backend_seq`);
    await q.query(`DROP INDEX runs_owner_created`);
    await q.query(`DROP INDEX runs_batch_seq`);
    for (const c of ['reasons', 'attempts', 'candidates', 'not_before', 'batch_id']) await q.query(`ALTER TABLE runs DROP COLUMN ${c}`);
    await q.query(`DROP TABLE batches`);
  }
}
