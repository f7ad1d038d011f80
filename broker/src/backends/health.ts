/**
 * The health monitor: runs in every worker process and probes each backend that takes runs with
 * `adapter.health()` once per HEALTH_CHECK_INTERVAL, cluster-wide. The probe is claimed first
 * (one conditional UPDATE of `backend_states.next_check_at`), so however many replicas run, one
 * probes a given backend per interval. Each probe is kept in `backend_health` (when, whether it
 * answered, how fast, what it said) and feeds the same `backend_states` row the run engine
 * updates on every call; a healthy answer also rediscovers the backend's panels.
 *
 * A backend whose outage (`failing_since`, the first failure nobody has since contradicted)
 * lasts HEALTH_DEACTIVATE_AFTER is deactivated: no new runs, runs in flight still followed. The
 * administrators are told through the audit trail (`backend.deactivated`) and the `onDeactivated`
 * hook. Clock and thresholds are injected, so a 30-day outage is a test of milliseconds.
 */
import type { DataSource } from 'typeorm';
import type { HealthReport } from '@ibroker/adapters/types';
import type { AuditLog } from '../audit/log';
import type { HealthConfig } from '../config';
import { returned } from '../db/returning';
import type { Logger } from '../logging';
import type { BackendRegistry } from './registry';

export interface ProbeOutcome {
  backend: string;
  at: Date;
  ok: boolean;
  latencyMs: number;
  detail: string;
  /** This probe ended the outage's grace period and took the backend out of service. */
  deactivated: boolean;
}

export interface DeactivationEvent {
  backend: string;
  at: Date;
  failingSince: Date;
  reason: string;
}

export interface HealthMonitorOptions {
  ds: DataSource;
  registry: BackendRegistry;
  log: Logger;
  audit?: AuditLog;
  settings: HealthConfig;
  /** The monitor's clock (claims, history, outage length). */
  now?: () => Date;
  /** How often due probes are looked for (default: a quarter of the interval, 250 ms to 30 s). */
  tickMs?: number;
  /** Longest wait for one probe before it counts as failed. */
  probeTimeoutMs?: number;
  /** Called once per deactivation, after it is stored and audited (notifications hook in here). */
  onDeactivated?: (event: DeactivationEvent) => void | Promise<void>;
}

/** Probe details are backend error messages: kept short, as `backend_states.last_error` is. */
const MAX_DETAIL = 500;

const days = (ms: number) => {
  const d = ms / 86_400_000;
  return Number.isInteger(d) ? `${d} days` : `${Math.round(ms / 60_000)} minutes`;
};

export class HealthMonitor {
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ProbeOutcome[]> | null = null;
  private lastPrune = 0;

  constructor(private readonly o: HealthMonitorOptions) {
    this.now = o.now ?? (() => new Date());
  }

  get settings(): HealthConfig {
    return this.o.settings;
  }

  start(): void {
    if (this.timer) return;
    const every = this.o.tickMs ?? Math.max(250, Math.min(this.o.settings.intervalMs / 4, 30_000));
    this.timer = setInterval(() => {
      void this.tick().catch((err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'health check round failed'));
    }, every);
    this.timer.unref();
    void this.tick().catch(() => undefined);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: probe every due backend this replica can claim. Rounds never overlap. */
  tick(): Promise<ProbeOutcome[]> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<ProbeOutcome[]> {
    const at = this.now();
    const due = this.o.registry.ids().filter((id) => this.o.registry.usable(id));
    const claimed: string[] = [];
    for (const id of due) if (await this.claim(id, at)) claimed.push(id);
    const outcomes = await Promise.all(claimed.map((id) => this.probe(id, at)));
    await this.prune(at);
    return outcomes.filter((o): o is ProbeOutcome => o !== null);
  }

  /** Takes the next probe of `id` for this replica, until `at + interval`; false if another replica has it. */
  private async claim(id: string, at: Date): Promise<boolean> {
    const until = new Date(at.getTime() + this.o.settings.intervalMs);
    const res = await this.o.ds.query(
      `INSERT INTO backend_states (id, next_check_at) VALUES ($1, $3)
       ON CONFLICT (id) DO UPDATE SET next_check_at = EXCLUDED.next_check_at
         WHERE backend_states.next_check_at IS NULL OR backend_states.next_check_at <= $2
       RETURNING id`,
      [id, at, until],
    );
    return returned(res).length === 1;
  }

  private async probe(id: string, at: Date): Promise<ProbeOutcome | null> {
    const backend = this.o.registry.get(id);
    if (!backend) return null;
    const report = await this.health(() => backend.adapter.health());
    const detail = report.detail.slice(0, MAX_DETAIL);
    await this.o.ds.query(
      `INSERT INTO backend_health (backend_id, at, ok, latency_ms, detail) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [id, at, report.ok, report.latencyMs, detail],
    );
    let deactivated = false;
    if (report.ok) {
      await this.o.registry.recordSuccess(id, report.latencyMs, at);
      // The panels may have changed too (an operator installed one): one discovery per interval.
      await this.o.registry.refreshCatalog(id, { record: false });
    } else {
      await this.o.registry.recordFailure(id, new Error(detail), at);
      deactivated = await this.deactivateIfDue(id, at, detail);
    }
    return { backend: id, at, ok: report.ok, latencyMs: report.latencyMs, detail, deactivated };
  }

  /** `health()` never throws by contract; a hang or a broken adapter still counts as a failed probe. */
  private async health(call: () => Promise<HealthReport>): Promise<HealthReport> {
    const started = performance.now();
    const timeoutMs = this.o.probeTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        call(),
        new Promise<HealthReport>((resolve) => {
          timer = setTimeout(() => resolve({ ok: false, latencyMs: timeoutMs, maintenance: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
        }),
      ]);
    } catch (err) {
      return { ok: false, latencyMs: Math.round(performance.now() - started), maintenance: false, detail: (err as Error).message || 'health check failed' };
    } finally {
      clearTimeout(timer);
    }
  }

  private async deactivateIfDue(id: string, at: Date, lastError: string): Promise<boolean> {
    const { failingSince } = await this.o.registry.state(id);
    if (!failingSince || at.getTime() - failingSince.getTime() < this.o.settings.deactivateAfterMs) return false;
    const reason =
      `No successful answer since ${failingSince.toISOString()} (longer than ${days(this.o.settings.deactivateAfterMs)}); ` +
      `last error: ${lastError}. Enable it again with POST /api/v1/admin/backends/${id}/enable once it is back.`;
    if (!(await this.o.registry.store.deactivate(id, reason, at))) return false;
    this.o.log.error({ backend: id, failingSince, lastError }, 'backend deactivated after a long outage');
    await this.o.audit?.record({
      action: 'backend.deactivated',
      outcome: 'ok',
      object: { kind: 'backend', id },
      reason,
      details: { failing_since: failingSince.toISOString(), deactivated_at: at.toISOString(), last_error: lastError },
    });
    await this.o.registry.reload();
    try {
      await this.o.onDeactivated?.({ backend: id, at, failingSince, reason });
    } catch (err) {
      this.o.log.warn({ backend: id, err: (err as Error).message }, 'deactivation hook failed');
    }
    return true;
  }

  /** Drops probe results older than the retention, at most once an hour. */
  private async prune(at: Date): Promise<void> {
    if (at.getTime() - this.lastPrune < 3_600_000) return;
    this.lastPrune = at.getTime();
    await this.o.ds.query(`DELETE FROM backend_health WHERE at < $1`, [new Date(at.getTime() - this.o.settings.historyRetentionMs)]);
  }
}
