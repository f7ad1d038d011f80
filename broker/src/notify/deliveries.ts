/**
 * Turns run events into deliveries and makes them, in every worker process.
 *
 * 1. **Dispatch**: reads events after `notification_cursor` and, in one transaction, creates a
 *    delivery for every enabled webhook that asked for the event and an e-mail delivery for every
 *    terminal event whose owner wants one, and moves the cursor. Event ids are in commit order
 *    (migration 0006), so `id > cursor` skips nothing; `FOR UPDATE SKIP LOCKED` on the cursor row
 *    lets one process dispatch at a time while the others get on with deliveries.
 * 2. **Deliver**: takes due deliveries with `FOR UPDATE SKIP LOCKED` and leases them (so a
 *    crashed process's deliveries are taken again after the lease), at most one in flight per
 *    webhook (an endpoint that hangs holds one slot, not all of them), and POSTs or mails each.
 *    Every attempt is recorded with its status or error and duration; failures are retried with
 *    exponential backoff and jitter up to `maxAttempts`, then the delivery is failed and its
 *    webhook disabled, with the reason shown to its owner.
 * 3. **Prune**: events older than the retention are deleted, with their deliveries and attempts.
 */
import type { DataSource } from 'typeorm';
import { TERMINAL_STATES } from '@ibroker/adapters/types';
import type { SecretBox } from '../crypto/box';
import { returned } from '../db/returning';
import type { Logger } from '../logging';
import { eventById, eventView, pruneEvents, type RunEvent } from './events';
import { composeRunMail, type ComposeDeps, type Mailer } from './mail';
import type { NotificationSettings } from './settings';
import { DELIVERY_HEADER, EVENT_HEADER, postWebhook, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-http';

const DISPATCH_BATCH = 500;
const TERMINAL_SQL = [...TERMINAL_STATES];
const FAILURE_STATES = ['EXECUTOR_ERROR', 'SYSTEM_ERROR', 'PREEMPTED'];

export interface DeliveryWorkerOptions {
  ds: DataSource;
  box: SecretBox;
  settings: NotificationSettings;
  log: Logger;
  /** Null: e-mail is off, so no e-mail deliveries are created. */
  mailer: Mailer | null;
  compose: ComposeDeps;
  /** Longest wait between looks for due deliveries (new events wake the worker at once). */
  pollMs?: number;
  pruneEveryMs?: number;
}

interface Claimed {
  id: string;
  channel: 'webhook' | 'email';
  webhook_id: string | null;
  email: string | null;
  event_id: string;
  attempts: number;
}

interface AttemptResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
  /** Give up now, whatever the attempt count (the webhook is gone or disabled, the run is gone). */
  final?: boolean;
}

/** Delay before retry number `n` (1 = after the first failure): base * 4^(n-1), ±20 %. */
export function retryDelayMs(base: number, n: number, random = Math.random): number {
  return Math.min(24 * 3600_000, base * 4 ** Math.max(0, n - 1)) * (0.8 + random() * 0.4);
}

export class DeliveryWorker {
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly o: DeliveryWorkerOptions) {
    this.pollMs = o.pollMs ?? 1000;
  }

  start(): void {
    this.kick();
    const prune = () =>
      void pruneEvents(this.o.ds, this.o.settings.eventRetentionDays)
        .then((n) => {
          if (n) this.o.log.info({ events: n, days: this.o.settings.eventRetentionDays }, 'pruned old run events');
        })
        .catch((err) => this.o.log.warn({ err: (err as Error).message }, 'pruning run events failed'));
    prune();
    this.pruneTimer = setInterval(prune, this.o.pruneEveryMs ?? 3600_000);
    this.pruneTimer.unref();
  }

  /** Look now: new events, or a slot came free. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.round()
      .catch((err) => {
        this.o.log.warn({ err: (err as Error).message }, 'notification round failed; trying again');
        return this.pollMs;
      })
      .then((waitMs) => {
        this.running = null;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
          return;
        }
        this.timer = setTimeout(() => this.kick(), Math.max(10, waitMs));
        this.timer.unref();
      });
  }

  /** Stops taking work; waits for the attempts in flight (each is bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.running?.catch(() => {});
    await Promise.allSettled([...this.inflight]);
  }

  /** One round: dispatch new events, start due deliveries; returns how long to wait before the next. */
  private async round(): Promise<number> {
    while ((await this.dispatch()) === DISPATCH_BATCH && !this.stopped);
    const free = this.o.settings.deliveries.concurrency - this.inflight.size;
    if (free > 0 && !this.stopped) {
      for (const d of await this.claim(free)) {
        const p: Promise<void> = this.deliver(d)
          .catch((err) => this.o.log.error({ err, delivery: d.id }, 'delivery failed unexpectedly'))
          .finally(() => {
            this.inflight.delete(p);
            this.kick();
          });
        this.inflight.add(p);
      }
    }
    const rows = returned<{ ms: number | null }>(
      await this.o.ds.query(
        `SELECT ceil(extract(epoch FROM (min(next_attempt_at) - now())) * 1000)::int AS ms FROM notification_deliveries WHERE status = 'pending'`,
      ),
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? this.pollMs : Math.min(this.pollMs, Math.max(10, ms));
  }

  /** Creates the deliveries of the next events after the cursor; returns how many events it covered. */
  async dispatch(): Promise<number> {
    const mail = this.o.mailer !== null;
    return this.o.ds.transaction(async (m) => {
      const cursor = returned<{ last_event_id: string }>(
        await m.query(`SELECT last_event_id FROM notification_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED`),
      )[0];
      if (!cursor) return 0; // another process is dispatching
      const from = Number(cursor.last_event_id);
      const range = returned<{ n: number; upto: string | null }>(
        await m.query(`SELECT count(*)::int AS n, max(id) AS upto FROM (SELECT id FROM run_events WHERE id > $1 ORDER BY id LIMIT $2) s`, [
          from,
          DISPATCH_BATCH,
        ]),
      )[0]!;
      if (!range.n || range.upto === null) return 0;
      const upto = Number(range.upto);
      await m.query(
        `INSERT INTO notification_deliveries (event_id, channel, webhook_id, owner_issuer, owner_subject)
         SELECT e.id, 'webhook', w.id, e.owner_issuer, e.owner_subject
           FROM run_events e
           JOIN webhooks w ON w.owner_subject = e.owner_subject AND w.owner_issuer = e.owner_issuer AND w.enabled
          WHERE e.id > $1 AND e.id <= $2
            AND (e.type = ANY(w.events) OR ('run.terminal' = ANY(w.events) AND e.type = 'run.state' AND e.state = ANY($3::text[])))
         ON CONFLICT DO NOTHING`,
        [from, upto, TERMINAL_SQL],
      );
      if (mail) {
        await m.query(
          `INSERT INTO notification_deliveries (event_id, channel, email, owner_issuer, owner_subject)
           SELECT e.id, 'email', p.email, e.owner_issuer, e.owner_subject
             FROM run_events e
             JOIN notification_preferences p ON p.owner_subject = e.owner_subject AND p.owner_issuer = e.owner_issuer
            WHERE e.id > $1 AND e.id <= $2 AND e.type = 'run.state' AND p.email IS NOT NULL
              AND ((e.state = 'COMPLETE' AND p.on_complete) OR (e.state = ANY($3::text[]) AND p.on_failure))
           ON CONFLICT DO NOTHING`,
          [from, upto, FAILURE_STATES],
        );
      }
      await m.query(`UPDATE notification_cursor SET last_event_id = $1 WHERE id = 1`, [upto]);
      return range.n;
    });
  }

  /**
   * Leases up to `n` due deliveries, at most one per webhook with none already in flight. The
   * lease outlives the longest attempt, so a process that dies mid-attempt only delays it.
   */
  private async claim(n: number): Promise<Claimed[]> {
    const channels = this.o.mailer ? ['webhook', 'email'] : ['webhook'];
    const leaseMs = Math.max(this.o.settings.webhooks.timeoutMs, this.o.settings.mail?.timeoutMs ?? 0) * 3 + 30_000;
    const res = await this.o.ds.query(
      `WITH candidates AS (
         SELECT DISTINCT ON (COALESCE(d.webhook_id::text, d.id::text)) d.id, d.next_attempt_at
           FROM notification_deliveries d
          WHERE d.status = 'pending' AND d.next_attempt_at <= now()
            AND (d.lease_until IS NULL OR d.lease_until < now())
            AND d.channel = ANY($1::text[])
            AND (d.webhook_id IS NULL OR NOT EXISTS (
                  SELECT 1 FROM notification_deliveries o
                   WHERE o.webhook_id = d.webhook_id AND o.status = 'pending' AND o.lease_until > now()))
          ORDER BY COALESCE(d.webhook_id::text, d.id::text), d.next_attempt_at, d.id),
       picked AS (
         SELECT d.id FROM notification_deliveries d JOIN candidates c ON c.id = d.id
          WHERE d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < now())
          ORDER BY c.next_attempt_at, d.id
          LIMIT $2
          FOR UPDATE OF d SKIP LOCKED)
       UPDATE notification_deliveries d SET lease_until = now() + ($3::int * interval '1 millisecond')
         FROM picked WHERE d.id = picked.id
       RETURNING d.id, d.channel, d.webhook_id, d.email, d.event_id, d.attempts`,
      [channels, n, leaseMs],
    );
    return returned<Claimed>(res);
  }

  private async deliver(d: Claimed): Promise<void> {
    const at = new Date();
    const event = await eventById(this.o.ds, Number(d.event_id));
    let result: AttemptResult;
    if (!event) result = { ok: false, status: null, error: 'the event no longer exists', durationMs: 0, final: true };
    else if (d.channel === 'webhook') result = await this.postToWebhook(d, event);
    else result = await this.sendMail(d, event);
    await this.record(d, at, result);
  }

  private async postToWebhook(d: Claimed, event: RunEvent): Promise<AttemptResult> {
    const hook = returned<{ url: string; secret_enc: string; enabled: boolean }>(
      await this.o.ds.query(`SELECT url, secret_enc, enabled FROM webhooks WHERE id = $1`, [d.webhook_id]),
    )[0];
    if (!hook) return { ok: false, status: null, error: 'the webhook was deleted', durationMs: 0, final: true };
    if (!hook.enabled) return { ok: false, status: null, error: 'the webhook is disabled', durationMs: 0, final: true };
    let secret: string;
    try {
      secret = this.o.box.open(hook.secret_enc);
    } catch {
      return { ok: false, status: null, error: 'the webhook secret cannot be opened with the keys this broker holds', durationMs: 0, final: true };
    }
    const body = JSON.stringify(eventView(event));
    const timestamp = Math.floor(Date.now() / 1000);
    const outcome = await postWebhook(hook.url, body, {
      timeoutMs: this.o.settings.webhooks.timeoutMs,
      allowPrivate: this.o.settings.webhooks.allowPrivate,
      headers: {
        [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
        [TIMESTAMP_HEADER]: String(timestamp),
        [EVENT_HEADER]: event.type,
        [DELIVERY_HEADER]: String(d.id),
      },
    });
    return { ok: outcome.ok, status: outcome.status, error: outcome.error, durationMs: outcome.durationMs };
  }

  private async sendMail(d: Claimed, event: RunEvent): Promise<AttemptResult> {
    if (!this.o.mailer) return { ok: false, status: null, error: 'e-mail is off on this broker', durationMs: 0 };
    const message = await composeRunMail(this.o.compose, event, d.email!);
    if (!message) return { ok: false, status: null, error: 'the run no longer exists', durationMs: 0, final: true };
    const sent = await this.o.mailer.send(message);
    return { ok: sent.ok, status: sent.code, error: sent.error, durationMs: sent.durationMs };
  }

  private async record(d: Claimed, at: Date, r: AttemptResult): Promise<void> {
    const attempt = d.attempts + 1;
    const { maxAttempts, retryBaseMs } = this.o.settings.deliveries;
    const giveUp = !r.ok && (r.final === true || attempt >= maxAttempts);
    const status = r.ok ? 'delivered' : giveUp ? 'failed' : 'pending';
    const delay = status === 'pending' ? retryDelayMs(retryBaseMs, attempt) : 0;
    await this.o.ds.transaction(async (m) => {
      // Deleted meanwhile (its webhook was deleted, or its event pruned): nothing to record.
      const exists = returned(await m.query(`SELECT id FROM notification_deliveries WHERE id = $1 FOR UPDATE`, [d.id]));
      if (!exists.length) return;
      await m.query(
        `INSERT INTO delivery_attempts (delivery_id, attempt, at, duration_ms, status_code, error) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (delivery_id, attempt) DO NOTHING`,
        [d.id, attempt, at, r.durationMs, r.status, r.error],
      );
      await m.query(
        `UPDATE notification_deliveries
            SET attempts = $2, status = $3, lease_until = NULL, last_error = $4,
                next_attempt_at = now() + ($5::int * interval '1 millisecond'),
                finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
          WHERE id = $1`,
        [d.id, attempt, status, r.ok ? null : r.error, Math.round(delay)],
      );
      if (d.channel !== 'webhook' || !d.webhook_id) return;
      await m.query(`UPDATE webhooks SET ${r.ok ? 'last_success_at' : 'last_failure_at'} = now() WHERE id = $1`, [d.webhook_id]);
      if (status === 'failed' && r.final !== true) {
        // Failing for about a day (every retry used up): stop sending and say why.
        const first = returned<{ at: Date }>(await m.query(`SELECT min(at) AS at FROM delivery_attempts WHERE delivery_id = $1`, [d.id]))[0]?.at ?? at;
        const reason =
          `Disabled ${new Date().toISOString()}: delivery ${d.id} (event ${d.event_id}) failed ${attempt} times ` +
          `from ${new Date(first).toISOString()}; last error: ${r.error ?? 'unknown'}. Delete the webhook and register it again once the endpoint works.`;
        const disabled = await m.query(
          `UPDATE webhooks SET enabled = false, disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND enabled RETURNING id`,
          [d.webhook_id, reason.slice(0, 1000)],
        );
        if (returned(disabled).length) {
          await m.query(
            `UPDATE notification_deliveries SET status = 'failed', finished_at = now(), lease_until = NULL, last_error = 'the webhook was disabled'
              WHERE webhook_id = $1 AND status = 'pending' AND id <> $2`,
            [d.webhook_id, d.id],
          );
          this.o.log.warn({ webhook: d.webhook_id, delivery: d.id, attempts: attempt }, 'webhook disabled after its retries were used up');
        }
      }
    });
  }
}
