/**
 * Per-backend request-rate limits and back-offs shared by every replica, kept in PostgreSQL (the
 * one store every deployment has, the embedded default and the scaled-out stack alike):
 *
 * - `maxRequestsPerMinute`: one row per backend and minute of the database's clock counts the
 *   calls; a call is allowed only when one conditional upsert can still add itself. Two brokers
 *   on one database therefore share the budget, and the broker never exceeds it.
 * - A backend's own `Retry-After` (a 429) pauses every call to it, on every replica, until then
 *   (`backend_states.paused_until`), so one throttled replica does not leave the others to
 *   hammer the account.
 *
 * Job-slot limits (`maxConcurrentJobs`) are the worker's `takeSlot` (an advisory lock per backend).
 */
import type { DataSource } from 'typeorm';
import { returned } from '../db/returning';

/** A call this broker did not make because a limit said wait; nothing reached the backend. */
export class LimitWait extends Error {
  constructor(
    readonly backend: string,
    readonly waitMs: number,
    readonly why: 'rate' | 'paused',
  ) {
    super(why === 'rate' ? `the request budget of ${backend} for this minute is spent` : `${backend} asked the broker to wait (Retry-After)`);
    this.name = 'LimitWait';
  }
}

export class BackendLimits {
  private lastPrune = 0;

  constructor(private readonly ds: DataSource) {}

  /**
   * Takes one call from the backend's budget; throws LimitWait (with how long) when the backend
   * is paused or this minute's budget is spent. One statement, atomic across replicas.
   */
  async take(backend: string, perMinute: number | undefined): Promise<void> {
    const rows = returned<{ paused_ms: number | null; allowed: boolean | null; next_ms: number }>(
      await this.ds.query(
        `WITH p AS (
           SELECT GREATEST(0, EXTRACT(EPOCH FROM (paused_until - now())) * 1000)::int AS ms
             FROM backend_states WHERE id = $1 AND paused_until > now()),
         t AS (
           INSERT INTO backend_rate (backend_id, window_start, calls)
           SELECT $1, date_trunc('minute', now()), 1 WHERE $2::int IS NOT NULL AND NOT EXISTS (SELECT 1 FROM p)
           ON CONFLICT (backend_id, window_start) DO UPDATE SET calls = backend_rate.calls + 1
             WHERE backend_rate.calls < $2::int
           RETURNING calls)
         SELECT (SELECT ms FROM p) AS paused_ms,
                CASE WHEN $2::int IS NULL THEN true ELSE EXISTS (SELECT 1 FROM t) END AS allowed,
                (EXTRACT(EPOCH FROM (date_trunc('minute', now()) + interval '1 minute' - now())) * 1000)::int AS next_ms`,
        [backend, perMinute ?? null],
      ),
    );
    const r = rows[0];
    if (!r) return;
    if (r.paused_ms !== null) throw new LimitWait(backend, Math.max(1, r.paused_ms), 'paused');
    if (!r.allowed) throw new LimitWait(backend, Math.max(1, r.next_ms), 'rate');
    if (perMinute !== undefined && Date.now() - this.lastPrune > 600_000) {
      this.lastPrune = Date.now();
      await this.ds.query(`DELETE FROM backend_rate WHERE window_start < now() - interval '10 minutes'`);
    }
  }

  /** The backend said "not before `ms` from now" (Retry-After): every replica waits. */
  async pause(backend: string, ms: number): Promise<void> {
    await this.ds.query(
      `INSERT INTO backend_states (id, paused_until) VALUES ($1, now() + ($2::int * interval '1 millisecond'))
       ON CONFLICT (id) DO UPDATE SET paused_until = GREATEST(COALESCE(backend_states.paused_until, now()), EXCLUDED.paused_until)`,
      [backend, Math.round(ms)],
    );
  }

  /** Calls counted against the backend's budget in the current minute (tests, metrics). */
  async used(backend: string): Promise<number> {
    const rows = (await this.ds.query(`SELECT calls FROM backend_rate WHERE backend_id = $1 AND window_start = date_trunc('minute', now())`, [
      backend,
    ])) as { calls: number }[];
    return rows[0]?.calls ?? 0;
  }
}
