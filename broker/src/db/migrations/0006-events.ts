import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notifications (issue 5). Run events are written by PostgreSQL itself, in the transaction that
 * changes the run, so no code path and no replica can change a run without its event:
 *
 * - `run_events`: one row when a run is created and whenever its `state` or `progress` really
 *   changes, filled by triggers on `runs`, each announced with `pg_notify('run_events', <id>)`
 *   (the payload is only the id; listeners read the row).
 * - Event ids are handed out in commit order: the trigger takes one transaction-level advisory
 *   lock before it takes an id, so a transaction can only take id N+1 once the one holding N has
 *   committed or rolled back. Whoever has read every event up to N can therefore resume with
 *   `id > N` and miss nothing (SSE `Last-Event-ID`, the delivery dispatcher's cursor). The lock is
 *   held from the run's change to its commit: every such transaction is short (one UPDATE, or a
 *   run and its inputs inserted together).
 * - `webhooks`, `notification_preferences`: what each user asked for.
 * - `notification_deliveries` (one row per webhook and event, or per e-mail and event) and
 *   `delivery_attempts` (every try, with its status or error and duration): created by the
 *   dispatcher, which moves `notification_cursor` in the same transaction as the deliveries it
 *   creates, so it cannot skip an event.
 */
export class Events1764100000000 implements MigrationInterface {
  name = 'Events1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE run_events (
        id bigserial PRIMARY KEY,
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        owner_issuer text NOT NULL,
        owner_subject text NOT NULL,
        type text NOT NULL CHECK (type IN ('run.state', 'run.progress')),
        state text NOT NULL,
        progress integer,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        data jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    // A user's stream replays with (owner, id > n); the prune deletes by age.
    await q.query(`CREATE INDEX run_events_owner ON run_events (owner_subject, owner_issuer, id)`);
    await q.query(`CREATE INDEX run_events_at ON run_events (at)`);
    await q.query(`CREATE INDEX run_events_run ON run_events (run_id)`);

    await q.query(`
      CREATE FUNCTION runs_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        event_id bigint;
        kind text;
      BEGIN
        IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
          kind := 'run.state';
        ELSE
          kind := 'run.progress';
        END IF;
        -- Ids in commit order (see the migration's comment). The key is outside the int4 range
        -- of the hashtext() keys the run engine locks backends with.
        PERFORM pg_advisory_xact_lock(7305940027000005);
        INSERT INTO run_events (run_id, owner_issuer, owner_subject, type, state, progress, data)
        VALUES (NEW.id, NEW.owner_issuer, NEW.owner_subject, kind, NEW.state, NEW.progress,
                jsonb_strip_nulls(jsonb_build_object(
                  'backend_id', NEW.backend_id,
                  'previous_state', CASE WHEN TG_OP = 'UPDATE' AND kind = 'run.state' THEN OLD.state END)))
        RETURNING id INTO event_id;
        PERFORM pg_notify('run_events', event_id::text);
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER runs_event_created AFTER INSERT ON runs
        FOR EACH ROW EXECUTE FUNCTION runs_record_event()`);
    await q.query(`
      CREATE TRIGGER runs_event_changed AFTER UPDATE OF state, progress ON runs
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.progress IS DISTINCT FROM NEW.progress)
        EXECUTE FUNCTION runs_record_event()`);

    await q.query(`
      CREATE TABLE webhooks (
        id uuid PRIMARY KEY,
        owner_issuer text NOT NULL,
        owner_subject text NOT NULL,
        url text NOT NULL CHECK (length(url) <= 2048),
        events text[] NOT NULL CHECK (cardinality(events) > 0),
        description text CHECK (length(description) <= 200),
        secret_enc text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        disabled_at timestamptz,
        disabled_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_success_at timestamptz,
        last_failure_at timestamptz
      )`);
    await q.query(`CREATE INDEX webhooks_owner ON webhooks (owner_subject, owner_issuer)`);

    await q.query(`
      CREATE TABLE notification_preferences (
        owner_issuer text NOT NULL,
        owner_subject text NOT NULL,
        email text CHECK (length(email) <= 254),
        on_complete boolean NOT NULL DEFAULT false,
        on_failure boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (owner_subject, owner_issuer)
      )`);

    await q.query(`
      CREATE TABLE notification_deliveries (
        id bigserial PRIMARY KEY,
        event_id bigint NOT NULL REFERENCES run_events(id) ON DELETE CASCADE,
        channel text NOT NULL CHECK (channel IN ('webhook', 'email')),
        webhook_id uuid REFERENCES webhooks(id) ON DELETE CASCADE,
        email text,
        owner_issuer text NOT NULL,
        owner_subject text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL)),
        CHECK ((channel = 'email') = (email IS NOT NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX notification_deliveries_webhook_event ON notification_deliveries (webhook_id, event_id) WHERE channel = 'webhook'`);
    await q.query(`CREATE UNIQUE INDEX notification_deliveries_email_event ON notification_deliveries (event_id) WHERE channel = 'email'`);
    await q.query(`CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX notification_deliveries_by_webhook ON notification_deliveries (webhook_id, id DESC) WHERE channel = 'webhook'`);
    await q.query(`CREATE INDEX notification_deliveries_by_owner ON notification_deliveries (owner_subject, owner_issuer, id DESC) WHERE channel = 'email'`);
    await q.query(`CREATE INDEX notification_deliveries_event ON notification_deliveries (event_id)`);

    await q.query(`
      CREATE TABLE delivery_attempts (
        id bigserial PRIMARY KEY,
        delivery_id bigint NOT NULL REFERENCES notification_deliveries(id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        at timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        status_code integer,
        error text,
        UNIQUE (delivery_id, attempt)
      )`);

    await q.query(`CREATE TABLE notification_cursor (id integer PRIMARY KEY CHECK (id = 1), last_event_id bigint NOT NULL)`);
    await q.query(`INSERT INTO notification_cursor (id, last_event_id) VALUES (1, 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_cursor`);
    await q.query(`DROP TABLE delivery_attempts`);
    await q.query(`DROP TABLE notification_deliveries`);
    await q.query(`DROP TABLE notification_preferences`);
    await q.query(`DROP TABLE webhooks`);
    await q.query(`DROP TRIGGER runs_event_changed ON runs`);
    await q.query(`DROP TRIGGER runs_event_created ON runs`);
    await q.query(`DROP FUNCTION runs_record_event()`);
    await q.query(`DROP TABLE run_events`);
  }
}
