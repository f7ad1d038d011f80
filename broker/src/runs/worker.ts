/**
 * Advances runs. Each queue job carries the run's current wake token; the worker leases the
 * run (token must match, lease free), takes one step from what the row says (submit, poll,
 * fetch outputs, cancel), and schedules exactly one successor with a fresh token. A stale or
 * duplicated job finds a different token and does nothing, so a run never forks into two
 * pollers. The sweeper re-wakes any run whose job was lost (crash, restart): nothing stays
 * orphaned.
 *
 * Backend trouble never fails a run: only the backend saying so does (DESIGN invariant 3).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DataSource, Repository } from 'typeorm';
import {
  BackendError,
  TERMINAL_STATES,
  type RemoteJob,
  type RemoteOutput,
  type RemoteTask,
  type WesState,
} from '@ibroker/adapters/types';
import type { Backend, BackendRegistry } from '../backends/registry';
import type { FsBlobStore } from '../blobs/store';
import type { SecretBox } from '../crypto/box';
import { RunEntity, runPatch, type Run, type StoredTask } from '../db/entities';
import type { ObjectService } from '../drs/objects';
import type { LinkSigner } from '../drs/links';
import { drsUri, type Urls } from '../wes/views';
import { returned } from '../db/returning';
import type { Logger } from '../logging';
import type { Metrics } from '../metrics';
import type { RunQueue, WakeJob } from './queue';
import type { AuditLog } from '../audit/log';
import { CredentialError, type Vault } from '../vault/vault';
import { BackendLimits, LimitWait } from '../backends/limits';
import type { RunAttempt } from '../db/entities';
import { resolveRun } from './params';

const LEASE_MS = 60_000;

const HEARTBEAT_MS = 20_000;

/** Network errors after which no request reached the backend (safe to send the run elsewhere). */
const NEVER_ARRIVED = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN/;

function describeRefusal(err: BackendError): string {
  switch (err.kind) {
    case 'capacity':
      return 'refused the job for capacity';
    case 'maintenance':
      return 'is in maintenance';
    case 'rate_limited':
      return 'rate-limited the broker';
    default:
      return 'could not be reached';
  }
}
const TERMINAL_SQL = [...TERMINAL_STATES];

export interface WorkerOptions {
  ds: DataSource;
  registry: BackendRegistry;
  queue: RunQueue;
  blobs: FsBlobStore;
  /** Where inputs are read from and results are recorded as DRS objects. */
  objects: ObjectService;
  /** Signed links to inputs, for backends that fetch them themselves (WES https mode, DNAstack). */
  links?: LinkSigner;
  /** Where inputs live as `drs://` URIs (WES drs mode). */
  urls?: Urls;
  box: SecretBox;
  log: Logger;
  metrics?: Metrics;
  /** Users' own backend tokens, for backends whose `credentials` mode asks for them. */
  vault?: Vault;
  audit?: AuditLog;
  /** Grace before a run whose wake-up is overdue counts as orphaned. */
  sweepGraceMs?: number;
  /** Largest file opened out of a result zip (default 20 GB, the upload limit). */
  maxMemberBytes?: number;
}

/** What a step decided: wait this long and look again, or the run is finished. */
type Next = { delayMs: number } | 'done';

/**
 * Cloudgene servers without mail print the result password in the job's last message; it must
 * never be stored or shown in clear (the owner gets it from the result-password route).
 */
function redact(text: string, secret: string): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}

function storeTasks(tasks: RemoteTask[], secret: string): StoredTask[] {
  return tasks.map((t) => ({
    ...t,
    startTime: t.startTime?.toISOString() ?? null,
    endTime: t.endTime?.toISOString() ?? null,
    messages: t.messages.map((m) => ({ level: m.level, text: redact(m.text, secret), time: m.time?.toISOString() ?? null })),
  }));
}

export class RunWorker {
  readonly id = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly runs: Repository<Run>;
  private sweepTimer: NodeJS.Timeout | null = null;
  readonly limits: BackendLimits;

  constructor(private readonly o: WorkerOptions) {
    this.runs = o.ds.getRepository(RunEntity);
    this.limits = new BackendLimits(o.ds);
  }

  start(concurrency = 4, sweepEveryMs = 15_000): void {
    this.o.queue.startWorker((job) => this.advance(job), concurrency);
    void this.sweep().catch((err) => this.o.log.error({ err }, 'start-up sweep failed'));
    this.sweepTimer = setInterval(() => {
      void this.sweep().catch((err) => this.o.log.error({ err }, 'sweep failed'));
    }, sweepEveryMs);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /** Re-wakes runs whose wake-up is overdue or whose lease holder died. Returns their ids. */
  async sweep(graceMs = this.o.sweepGraceMs ?? 60_000): Promise<string[]> {
    await this.refreshHealth();
    const rows = returned<{ id: string; wake_token: string }>(await this.o.ds.query(
      `WITH s AS (
         SELECT id FROM runs
          WHERE state <> ALL($1::text[])
            AND (lease_until IS NULL OR lease_until < now())
            AND (next_wake_at IS NULL OR next_wake_at < now() - ($2::int * interval '1 millisecond')
                 OR lease_until IS NOT NULL)
          LIMIT 1000 FOR UPDATE SKIP LOCKED)
       UPDATE runs r SET wake_token = gen_random_uuid()::text, next_wake_at = now(),
                         lease_owner = NULL, lease_until = NULL
         FROM s WHERE r.id = s.id
       RETURNING r.id, r.wake_token`,
      [TERMINAL_SQL, graceMs],
    ));
    for (const r of rows) await this.o.queue.wake({ runId: r.id, token: r.wake_token }, 0);
    if (rows.length) this.o.log.info({ runs: rows.length }, 'sweeper re-woke orphaned runs');
    return rows.map((r) => r.id);
  }

  async advance(job: WakeJob): Promise<void> {
    const run = await this.acquire(job);
    if (!run) return;
    const heartbeat = setInterval(() => {
      void this.o.ds
        .query(`UPDATE runs SET lease_until = now() + ($2::int * interval '1 millisecond') WHERE id = $1 AND lease_owner = $3`, [
          run.id,
          LEASE_MS,
          this.id,
        ])
        .catch(() => {});
    }, HEARTBEAT_MS);
    let next: Next;
    try {
      next = await this.step(run);
    } catch (err) {
      if (err instanceof LimitWait) {
        // A limit of ours said wait: nothing reached the backend, nothing to count against it.
        next = { delayMs: err.waitMs + Math.random() * 1_000 };
      } else {
        // A bug or a lost database connection: keep the run, try again later.
        this.o.log.error({ err, runId: run.id }, 'run step failed unexpectedly');
        next = { delayMs: 30_000 };
      }
    } finally {
      clearInterval(heartbeat);
    }
    await this.release(run.id, job.token, next);
  }

  private async acquire(job: WakeJob): Promise<Run | null> {
    const res = await this.o.ds.query(
      `UPDATE runs SET lease_owner = $3, lease_until = now() + ($4::int * interval '1 millisecond')
        WHERE id = $1 AND wake_token = $2 AND (lease_until IS NULL OR lease_until < now())
        RETURNING id`,
      [job.runId, job.token, this.id, LEASE_MS],
    );
    if (!returned<{ id: string }>(res).length) return null;
    return this.runs.findOneBy({ id: job.runId });
  }

  private async release(runId: string, heldToken: string, next: Next): Promise<void> {
    if (next === 'done') {
      await this.o.ds.query(
        `UPDATE runs SET lease_owner = NULL, lease_until = NULL, wake_token = NULL, next_wake_at = NULL WHERE id = $1`,
        [runId],
      );
      return;
    }
    const token = randomUUID();
    // If someone re-woke the run while we held it (a cancel), look again at once.
    const res = await this.o.ds.query(
      `WITH old AS (SELECT wake_token FROM runs WHERE id = $1 FOR UPDATE)
       UPDATE runs r SET lease_owner = NULL, lease_until = NULL, wake_token = $2,
              next_wake_at = now() + (CASE WHEN old.wake_token = $3 THEN $4::int ELSE 0 END) * interval '1 millisecond'
         FROM old WHERE r.id = $1
       RETURNING (old.wake_token = $3) AS same`,
      [runId, token, heldToken, Math.round(next.delayMs)],
    );
    const same = returned<{ same: boolean }>(res)[0]?.same ?? true;
    await this.o.queue.wake({ runId, token }, same ? next.delayMs : 0);
  }

  private async update(run: Run, patch: Partial<Run>): Promise<void> {
    Object.assign(run, patch);
    await this.runs.update({ id: run.id }, runPatch({ ...patch, updatedAt: new Date() }));
  }

  private async finish(run: Run, state: WesState, message?: string): Promise<Next> {
    const systemLogs = message ? [...run.systemLogs, message] : run.systemLogs;
    await this.update(run, { state, endTime: run.endTime ?? new Date(), systemLogs });
    this.o.metrics?.runsFinished.inc({ state });
    this.o.log.info({ runId: run.id, state, backend: run.backendId }, 'run finished');
    return 'done';
  }

  private pollDelay(backend: Backend, failures: number): { delayMs: number } {
    const { pollIntervalMs, maxPollIntervalMs } = backend.config;
    const base = Math.min(maxPollIntervalMs, pollIntervalMs * 2 ** Math.min(failures, 16));
    const jitter = 0.8 + Math.random() * 0.4;
    return { delayMs: Math.min(maxPollIntervalMs, base * jitter) };
  }

  /** The backend could not be asked: keep everything, note it, back off. */
  private async backendTrouble(run: Run, backend: Backend, err: unknown, op: string): Promise<Next> {
    if (err instanceof LimitWait) throw err; // our own limit, not the backend's trouble
    const failures = run.pollFailures + 1;
    if (err instanceof BackendError && err.kind === 'rate_limited') {
      // Throttled is not down: health is left alone, and every replica waits as asked.
      const wait = err.retryAfterMs ?? this.pollDelay(backend, failures).delayMs;
      await this.limits.pause(backend.config.id, wait);
      this.o.metrics?.backendErrors.inc({ backend: backend.config.id, op, kind: err.kind });
      await this.update(run, { pollFailures: failures });
      return { delayMs: wait + Math.random() * Math.min(wait, 1_000) };
    }
    await this.o.registry.recordFailure(backend.config.id, err);
    this.o.metrics?.backendErrors.inc({ backend: backend.config.id, op, kind: err instanceof BackendError ? err.kind : 'internal' });
    this.o.log.warn({ runId: run.id, backend: backend.config.id, op, err: (err as Error).message, failures }, 'backend call failed');
    await this.update(run, { pollFailures: failures });
    const delay = this.pollDelay(backend, failures);
    const asked = err instanceof BackendError ? err.retryAfterMs ?? 0 : 0;
    return { delayMs: Math.max(delay.delayMs, asked) };
  }

  private async call<T>(backend: Backend, op: string, fn: () => Promise<T>): Promise<T> {
    await this.limits.take(backend.config.id, backend.config.maxRequestsPerMinute);
    const end = this.o.metrics?.backendCalls.startTimer({ backend: backend.config.id, op });
    try {
      const out = await fn();
      end?.({ outcome: 'ok' });
      return out;
    } catch (err) {
      end?.({ outcome: err instanceof BackendError ? err.kind : 'error' });
      throw err;
    }
  }

  /**
   * The adapter acting as whoever the backend's `credentials` mode says: the service account, or
   * the run owner's own token from the vault (a Cloudgene job belongs to the account that made it).
   */
  private async adapterFor(run: Run, backend: Backend): Promise<{ adapter: Backend['adapter']; source: 'user' | 'service' }> {
    const mode = backend.config.credentials ?? 'service';
    const service = { adapter: backend.adapter, source: 'service' as const };
    if (mode === 'service' || !backend.withToken) return service;
    if (!this.o.vault) throw new CredentialError('missing', backend.config.id, 'The credential vault is not enabled on this broker.');
    const owner = { issuer: run.ownerIssuer, subject: run.ownerSubject };
    try {
      const cred = await this.o.vault.resolve(owner, backend.config.id, 'user');
      return { adapter: backend.withToken(cred.secret.reveal()), source: 'user' };
    } catch (err) {
      if (mode === 'user_then_service' && err instanceof CredentialError) return service;
      throw err;
    }
  }

  private async step(run: Run): Promise<Next> {
    if (TERMINAL_STATES.has(run.state)) return 'done';
    if (!run.cancelRequested && !run.submitIntentAt && run.notBefore && run.notBefore.getTime() > Date.now()) {
      // Scheduled: not yet. (A restart loses nothing: next_wake_at is the time, the sweeper looks.)
      return { delayMs: run.notBefore.getTime() - Date.now() };
    }
    if (!run.submitIntentAt && !run.cancelRequested && run.candidates.length && run.backendId && !this.takesRuns(run.backendId)) {
      // Chosen when it was fine; down or switched off now, and nothing was sent there yet.
      const moved = await this.failover(run, run.backendId, `${run.backendId} is ${this.o.registry.usable(run.backendId) ? 'unreachable' : 'switched off'}`);
      if (moved) return moved;
    }
    const backend = run.backendId ? this.o.registry.get(run.backendId) : undefined;
    if (!backend) {
      return this.finish(run, 'SYSTEM_ERROR', `Backend '${run.backendId}' is no longer configured on this broker.`);
    }
    let acting: Backend;
    try {
      const { adapter, source } = await this.adapterFor(run, backend);
      acting = { ...backend, adapter };
      if (source === 'user' && !run.remoteId && !run.cancelRequested) {
        await this.o.audit?.record({
          action: 'credential.used',
          outcome: 'ok',
          actor: { issuer: run.ownerIssuer, subject: run.ownerSubject },
          object: { kind: 'credential', id: backend.config.id },
          details: { run: run.id },
        });
      }
    } catch (err) {
      if (err instanceof CredentialError) {
        return this.finish(run, 'SYSTEM_ERROR', `${err.message} Store your token for ${backend.config.id} at PUT /api/v1/credentials/${backend.config.id}.`);
      }
      throw err;
    }
    if (run.cancelRequested) return this.cancel(run, acting);
    if (!run.remoteId) return this.submit(run, acting);
    return this.poll(run, acting);
  }

  /**
   * Takes one of the backend's job slots; when none is free, says how many runs wait for one
   * there (so thousands of waiting runs look again in proportion to the queue, not all at once).
   */
  private async takeSlot(run: Run, backend: Backend): Promise<{ taken: true } | { taken: false; waiting: number }> {
    return this.o.ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`backend:${backend.config.id}`]);
      const [{ n, waiting }] = (await m.query(
        `SELECT count(*) FILTER (WHERE submit_intent_at IS NOT NULL)::int AS n,
                count(*) FILTER (WHERE submit_intent_at IS NULL)::int AS waiting
           FROM runs WHERE backend_id = $1 AND state <> ALL($2::text[])`,
        [backend.config.id, TERMINAL_SQL],
      )) as [{ n: number; waiting: number }];
      if (n >= backend.config.maxConcurrentJobs) return { taken: false as const, waiting };
      const res = await m.query(
        `UPDATE runs SET submit_intent_at = now(), updated_at = now()
          WHERE id = $1 AND cancel_requested = false AND submit_intent_at IS NULL RETURNING id`,
        [run.id],
      );
      return returned(res).length === 1 ? { taken: true as const } : { taken: false as const, waiting };
    });
  }

  /** May new runs go to this backend now (usable, and not known to be down)? */
  private takesRuns(id: string): boolean {
    if (!this.o.registry.usable(id)) return false;
    return !this.unhealthy.has(id);
  }

  /** Backends the last health read saw down (refreshed by the sweeper, not per run). */
  private unhealthy = new Set<string>();

  private async refreshHealth(): Promise<void> {
    const rows = (await this.o.ds.query(`SELECT id FROM backend_states WHERE NOT healthy`)) as { id: string }[];
    this.unhealthy = new Set(rows.map((r) => r.id));
  }

  private attempt(run: Run, backend: string, startedAt: Date, outcome: RunAttempt['outcome'], message: string): RunAttempt[] {
    return [...run.attempts, { backend, started_at: startedAt.toISOString(), outcome, message: message.slice(0, 500) }];
  }

  /**
   * Moves a run that nothing was sent to yet to the next candidate of its `auto` routing (with
   * parameters resolved again against that backend's catalog). Null when none is left: the run
   * then stays and waits for its backend, as before.
   */
  private async failover(run: Run, from: string, why: string, startedAt: Date = new Date()): Promise<Next | null> {
    if (!run.candidates.length || run.submitIntentAt) return null;
    const views = await this.o.registry.views();
    const remaining = [...run.candidates];
    while (remaining.length) {
      const next = remaining.shift()!;
      if (!this.takesRuns(next)) continue;
      let params: Run['params'];
      try {
        const raw: Record<string, unknown> = { ...run.request.workflow_params, backend: next, build: run.params.build };
        delete raw.not_before;
        params = resolveRun(raw, views.map((v) => ({ ...v })), null).params;
      } catch {
        continue; // its catalog no longer fits the run
      }
      const line = `Failed over from ${from} to ${next}: ${why}.`;
      const res = await this.o.ds.query(
        `UPDATE runs SET backend_id = $2, params = $3::jsonb, candidates = $4::jsonb, attempts = $5::jsonb,
                system_logs = system_logs || $6::jsonb, poll_failures = 0, updated_at = now()
          WHERE id = $1 AND submit_intent_at IS NULL AND backend_id = $7 RETURNING id`,
        [run.id, next, JSON.stringify(params), JSON.stringify(remaining), JSON.stringify(this.attempt(run, from, startedAt, 'failed_over', why)), JSON.stringify([line]), from],
      );
      if (!returned(res).length) return { delayMs: 0 };
      this.o.metrics?.backendErrors.inc({ backend: from, op: 'failover', kind: 'failover' });
      this.o.log.info({ runId: run.id, from, to: next, why }, 'run failed over');
      return { delayMs: 0 };
    }
    return null;
  }

  private async submit(run: Run, backend: Backend): Promise<Next> {
    const { adapter } = backend;
    if (run.submitIntentAt) {
      // We may have submitted before a crash or a lost response: look before submitting twice.
      try {
        const found = await this.call(backend, 'find', () => adapter.findByRunId(run.id));
        if (found) {
          await this.update(run, {
            remoteId: found,
            submittedAt: run.submittedAt ?? new Date(),
            pollFailures: 0,
            attempts: this.attempt(run, backend.config.id, run.submitIntentAt, 'submitted', 'found after an unanswered submission'),
          });
          return { delayMs: 0 };
        }
      } catch (err) {
        if (err instanceof LimitWait) throw err;
        return this.backendTrouble(run, backend, err, 'find');
      }
    } else {
      const slot = await this.takeSlot(run, backend);
      if (!slot.taken) {
        const note = `Waiting for a free job slot on ${backend.config.id} (limit ${backend.config.maxConcurrentJobs} concurrent jobs).`;
        if (run.systemLogs[run.systemLogs.length - 1] !== note) await this.update(run, { systemLogs: [...run.systemLogs, note] });
        // One look per slot's worth of waiting runs ahead: about one wake-up per slot freed.
        const base = Math.min(backend.config.pollIntervalMs, 5_000);
        const turns = 1 + Math.floor(slot.waiting / backend.config.maxConcurrentJobs);
        return { delayMs: Math.min(backend.config.maxPollIntervalMs, base * turns) * (0.8 + Math.random() * 0.4) };
      }
      run.submitIntentAt = new Date();
    }

    const inputs = await this.o.objects.ofRun(run.id, ['input']);
    // A backend that fetches its inputs may do so long after the submission (when its queue
    // reaches the job): its links last as long as it keeps results.
    const linkTtlSec = backend.config.retentionDays * 86_400;
    const files = inputs.map((f) => ({
      name: f.name,
      path: this.o.blobs.path(f.blobKey!),
      size: f.size,
      ...(this.o.links ? { url: this.o.links.sign(f.id, `backend:${backend.config.id}`, linkTtlSec, f.name).url } : {}),
      ...(this.o.urls ? { drsUri: drsUri(this.o.urls, f.id) } : {}),
    }));
    const startedAt = new Date();
    try {
      const remoteId = await this.call(backend, 'submit', () =>
        adapter.submit({ runId: run.id, params: run.params, files, password: this.o.box.open(run.passwordEnc) }),
      );
      await this.o.registry.recordSuccess(backend.config.id, null);
      await this.update(run, {
        remoteId,
        submittedAt: new Date(),
        pollFailures: 0,
        systemLogs: [...run.systemLogs, `Submitted to ${backend.config.id} (${backend.config.name}).`],
        attempts: this.attempt(run, backend.config.id, startedAt, 'submitted', `accepted as job ${remoteId}`),
      });
      this.o.log.info({ runId: run.id, backend: backend.config.id }, 'run submitted');
      return { delayMs: Math.min(backend.config.pollIntervalMs, 2_000) };
    } catch (err) {
      if (err instanceof LimitWait) {
        // Our own budget said wait before anything was sent: give the slot back.
        await this.update(run, { submitIntentAt: null });
        throw err;
      }
      if (!(err instanceof BackendError)) throw err;
      const refusedOutright = err.kind === 'capacity' || err.kind === 'maintenance' || err.kind === 'rate_limited';
      // A connection refused (or a name that does not resolve) reached nothing: no job exists.
      const neverArrived = err.kind === 'unreachable' && NEVER_ARRIVED.test(`${err.message} ${String((err as { cause?: unknown }).cause ?? '')}`);
      if (refusedOutright || neverArrived) {
        await this.update(run, { submitIntentAt: null });
        // Its Retry-After holds for every run and replica, whether this run moves or not.
        if (err.kind === 'rate_limited' && err.retryAfterMs) await this.limits.pause(backend.config.id, err.retryAfterMs);
        if (neverArrived) await this.o.registry.recordFailure(backend.config.id, err);
        const moved = await this.failover(run, backend.config.id, `${backend.config.id} ${describeRefusal(err)} (${err.message})`, startedAt);
        if (moved) return moved;
      }
      switch (err.kind) {
        case 'capacity':
        case 'maintenance':
        case 'rate_limited':
          // Refused outright, so nothing was created: the slot is given back; wait.
          await this.update(run, {
            systemLogs: [...run.systemLogs.slice(-50), `${backend.config.id} is not taking jobs right now (${err.message}); waiting.`],
          });
          if (err.kind !== 'capacity') return this.backendTrouble(run, backend, err, 'submit');
          return this.pollDelay(backend, Math.min(run.pollFailures + 1, 4));
        case 'unreachable':
          // The job may exist even though we saw no answer: keep the intent, look it up next time.
          // (Refused connections gave the slot back above and are simply tried again.)
          return this.backendTrouble(run, backend, err, 'submit');
        default:
          // The backend's own verdict on the run itself (bad input...): another would agree.
          await this.update(run, { attempts: this.attempt(run, backend.config.id, startedAt, 'failed', err.message) });
          return this.finish(run, 'SYSTEM_ERROR', `${backend.config.id} refused the run: ${err.message}`);
      }
    }
  }

  private async poll(run: Run, backend: Backend): Promise<Next> {
    const remoteId = run.remoteId!;
    let job: RemoteJob;
    try {
      job = await this.call(backend, 'status', () => backend.adapter.getJob(remoteId));
    } catch (err) {
      if (err instanceof BackendError && err.kind === 'not_found') {
        return this.finish(run, 'SYSTEM_ERROR', `The job no longer exists on ${backend.config.id}; it was removed before it finished.`);
      }
      return this.backendTrouble(run, backend, err, 'status');
    }
    await this.o.registry.recordSuccess(backend.config.id, null);

    const secret = this.o.box.open(run.passwordEnc);
    const patch: Partial<Run> = {
      remoteState: job.rawState,
      tasks: storeTasks(job.tasks, secret),
      progress: job.progress,
      queuePosition: job.queuePosition,
      errors: job.errors.map((e) => redact(e, secret)),
      pollFailures: 0,
      startTime: job.startTime ?? run.startTime,
    };

    if (job.rawState === '-1' && backend.adapter.restart) {
      // Cloudgene lost the job in a server restart; it can resume it.
      try {
        await this.call(backend, 'restart', () => backend.adapter.restart!(remoteId));
        await this.update(run, { ...patch, systemLogs: [...run.systemLogs, `${backend.config.id} restarted; the job was resumed.`] });
      } catch (err) {
        return this.backendTrouble(run, backend, err, 'restart');
      }
      return this.pollDelay(backend, 0);
    }

    if (job.resultsGone && !run.outputsFetched) {
      await this.update(run, patch);
      return this.finish(
        run,
        'EXECUTOR_ERROR',
        `${backend.config.id} retired or deleted the job before its results came home; the results are no longer available.`,
      );
    }

    if (job.state === 'COMPLETE' || job.state === 'EXECUTOR_ERROR') {
      await this.update(run, { ...patch, state: run.state === 'QUEUED' ? 'RUNNING' : run.state });
      const fetched = await this.fetchOutputs(run, backend, job.outputs);
      if (fetched !== true) return fetched;
      const results = await this.o.objects.completeResults(run, this.o.box.open(run.passwordEnc), {
        maxMemberBytes: this.o.maxMemberBytes ?? 20 * 1024 ** 3,
      });
      const notes = results.unreadable.map((u) => `${u.name} could not be opened with the run's result password (${u.reason}); it is kept as it is.`);
      await this.update(run, { outputsFetched: true, endTime: job.endTime ?? new Date(), systemLogs: [...run.systemLogs, ...notes] });
      const failure = job.state === 'EXECUTOR_ERROR' ? patch.errors!.join(' ') || 'The imputation job failed on the backend.' : undefined;
      return this.finish(run, job.state, failure);
    }
    if (job.state === 'CANCELED') {
      await this.update(run, patch);
      return this.finish(run, 'CANCELED', `The job was canceled on ${backend.config.id}.`);
    }
    if (TERMINAL_STATES.has(job.state)) {
      await this.update(run, patch);
      return this.finish(run, job.state, patch.errors!.join(' ') || undefined);
    }
    await this.update(run, { ...patch, state: job.state });
    return this.pollDelay(backend, 0);
  }

  /** Streams every output not yet home into the blob store. True when all are home. */
  private async fetchOutputs(run: Run, backend: Backend, outputs: RemoteOutput[]): Promise<true | Next> {
    const have = new Set((await this.o.objects.ofRun(run.id, ['output'])).map((f) => f.name));
    for (const out of outputs) {
      if (have.has(out.name)) continue;
      if (out.reference) {
        // Storage the broker cannot read (a bucket of the backend's): registered, not fetched.
        await this.o.objects.recordReference(run, out.name, out.reference, out.size, out.ref);
        continue;
      }
      try {
        const body = await this.call(backend, 'download', () => backend.adapter.download(out));
        const blob = await this.o.blobs.write(body);
        await this.o.objects.recordOutput(run, out.name, blob, out.ref);
        this.o.metrics?.outputBytes.inc({ backend: backend.config.id }, blob.size);
      } catch (err) {
        if (err instanceof BackendError && err.kind === 'gone') {
          return this.finish(run, 'SYSTEM_ERROR', `Result file ${out.name} could not be brought home from ${backend.config.id}: ${err.message}`);
        }
        if (err instanceof BackendError) return this.backendTrouble(run, backend, err, 'download');
        // A broken stream mid-file is a network blip too; nothing partial was stored.
        return this.backendTrouble(run, backend, err, 'download');
      }
    }
    return true;
  }

  private async cancel(run: Run, backend: Backend): Promise<Next> {
    if (!run.submitIntentAt) return this.finish(run, 'CANCELED');
    let remoteId = run.remoteId;
    try {
      remoteId ??= await this.call(backend, 'find', () => backend.adapter.findByRunId(run.id));
      if (!remoteId) return this.finish(run, 'CANCELED', 'Canceled before the backend started it.');
      if (remoteId !== run.remoteId) await this.update(run, { remoteId });
      if (run.state !== 'CANCELING' || !run.systemLogs.includes('Cancel requested.')) {
        await this.update(run, { state: 'CANCELING', systemLogs: [...run.systemLogs, 'Cancel requested.'] });
      }
      await this.call(backend, 'cancel', () => backend.adapter.cancel(remoteId!));
      const job = await this.call(backend, 'status', () => backend.adapter.getJob(remoteId!));
      await this.update(run, { remoteState: job.rawState, tasks: storeTasks(job.tasks, this.o.box.open(run.passwordEnc)) });
      if (TERMINAL_STATES.has(job.state)) return this.finish(run, 'CANCELED', `Canceled on ${backend.config.id}.`);
      return { delayMs: Math.min(backend.config.pollIntervalMs, 2_000) };
    } catch (err) {
      if (err instanceof BackendError && err.kind === 'not_found') return this.finish(run, 'CANCELED');
      return this.backendTrouble(run, backend, err, 'cancel');
    }
  }
}
