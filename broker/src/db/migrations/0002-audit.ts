import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail (issue 3): one append-only table. Append-only is enforced by PostgreSQL itself,
 * not by the broker, so a bug (or an injected statement) in the broker cannot rewrite history.
 * The guards are statement-level triggers, so even an UPDATE or DELETE that matches no row is
 * refused: nothing that tries to change the table ever succeeds quietly. A database superuser can
 * still disable triggers; deployments that need more run the broker as a role that does not own
 * the table (docs: REVOKE UPDATE, DELETE, TRUNCATE).
 */
export class Audit1763900000000 implements MigrationInterface {
  name = 'Audit1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_events (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_issuer text,
        actor_subject text,
        action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$' AND length(action) <= 64),
        object_kind text,
        object_id text,
        outcome text NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed', 'ok')),
        reason text,
        source_ip inet,
        user_agent text CHECK (length(user_agent) <= 512),
        request_id text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    // Queries are keyset-paged on id, newest first; each filter gets an index that serves that order.
    await q.query(`CREATE INDEX audit_events_actor ON audit_events (actor_subject, id DESC)`);
    await q.query(`CREATE INDEX audit_events_action ON audit_events (action, id DESC)`);
    await q.query(`CREATE INDEX audit_events_object ON audit_events (object_id, id DESC)`);
    await q.query(`CREATE INDEX audit_events_outcome ON audit_events (outcome, id DESC)`);
    await q.query(`CREATE INDEX audit_events_at ON audit_events (at)`);
    await q.query(`
      CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'The audit trail can only be added to; nothing may update, delete or truncate it.';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_events_append_only
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`);
    await q.query(`
      CREATE TRIGGER audit_events_no_truncate
        BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Dropping the table drops its triggers with it.
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_refuse_change()`);
  }
}
