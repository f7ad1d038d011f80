import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1763800000000 implements MigrationInterface {
  name = 'Initial1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE runs (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        owner_key text NOT NULL,
        owner_issuer text NOT NULL,
        owner_subject text NOT NULL,
        state text NOT NULL,
        request jsonb NOT NULL,
        params jsonb NOT NULL,
        tags jsonb NOT NULL DEFAULT '{}',
        requested_backend text NOT NULL,
        backend_id text,
        remote_id text,
        remote_state text,
        submit_intent_at timestamptz,
        submitted_at timestamptz,
        start_time timestamptz,
        end_time timestamptz,
        tasks jsonb NOT NULL DEFAULT '[]',
        system_logs jsonb NOT NULL DEFAULT '[]',
        errors jsonb NOT NULL DEFAULT '[]',
        progress integer,
        queue_position integer,
        password_enc text NOT NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        outputs_fetched boolean NOT NULL DEFAULT false,
        poll_failures integer NOT NULL DEFAULT 0,
        wake_token text,
        next_wake_at timestamptz,
        lease_owner text,
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Paging is keyset on seq per owner: stable while runs are added.
    await q.query(`CREATE INDEX runs_owner_seq ON runs (owner_key, seq DESC)`);
    await q.query(`CREATE INDEX runs_active_backend ON runs (backend_id) WHERE state NOT IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED')`);
    await q.query(`CREATE INDEX runs_state ON runs (state)`);
    await q.query(`CREATE INDEX runs_wake ON runs (next_wake_at) WHERE state NOT IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED')`);
    await q.query(`
      CREATE TABLE run_files (
        id uuid PRIMARY KEY,
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('input','output')),
        name text NOT NULL,
        size bigint NOT NULL,
        sha256 text NOT NULL,
        md5 text NOT NULL,
        blob_key text NOT NULL,
        mime_type text NOT NULL,
        remote_ref text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (run_id, role, name)
      )`);
    await q.query(`
      CREATE TABLE backend_states (
        id text PRIMARY KEY,
        healthy boolean NOT NULL DEFAULT true,
        consecutive_failures integer NOT NULL DEFAULT 0,
        last_checked_at timestamptz,
        last_ok_at timestamptz,
        last_error text,
        latency_ms integer,
        catalog jsonb,
        catalog_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE backend_states`);
    await q.query(`DROP TABLE run_files`);
    await q.query(`DROP TABLE runs`);
  }
}
