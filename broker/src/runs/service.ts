/**
 * The run lifecycle as the APIs see it: create (persist, then enqueue), read, list, cancel.
 * The broker owns the run id; nothing here talks to a backend (that is worker.ts).
 */
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager, Repository, SelectQueryBuilder } from 'typeorm';
import { TERMINAL_STATES, type ImputationParams, type WesState } from '@ibroker/adapters/types';
import { BatchEntity, RunEntity, runPatch, type Batch, type Run, type RunRequestRecord, type StoredObject } from '../db/entities';
import type { NewInput, ObjectService } from '../drs/objects';
import type { SecretBox } from '../crypto/box';
import { generateResultPassword } from '../crypto/box';
import { badRequest, notFound } from '../http/errors';
import type { RunQueue } from './queue';

export interface Owner {
  key: string;
  issuer: string;
  subject: string;
}

export interface NewRunInput {
  id?: string;
  owner: Owner;
  request: RunRequestRecord;
  params: ImputationParams;
  requestedBackend: string;
  backendId: string;
  reasons: string[];
  inputs: NewInput[];
  /** `auto`: the backends failover may try after `backendId`, in order. */
  failover?: string[];
  /** A scheduled run waits in QUEUED until then. */
  notBefore?: Date | null;
}

/** WES list filters (broker extensions): all given ones must hold. */
export interface RunFilter {
  states?: WesState[];
  tags?: [string, string][];
  backend?: string;
  batch?: string;
  since?: Date;
  until?: Date;
}

export interface NewBatch {
  owner: Owner;
  name: string | null;
  tags: Record<string, string>;
  runs: NewRunInput[];
}

export interface RunPage {
  runs: Run[];
  nextPageToken: string;
  /** How many runs match the filter, over all pages. */
  total: number;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** Page tokens are opaque to clients; inside they hold the last `seq` seen (keyset paging). */
export function encodePageToken(seq: number): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

export function decodePageToken(token: string): number {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^s:(\d{1,15})$/.exec(text);
  if (!m) throw badRequest('page_token is not valid: pass the next_page_token of the previous page unchanged');
  return Number(m[1]);
}

export function parsePageSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE_SIZE;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
    throw badRequest(`page_size must be a positive integer (at most ${MAX_PAGE_SIZE}), got '${raw.slice(0, 40)}'`);
  }
  return Math.min(Number(raw), MAX_PAGE_SIZE);
}

export class RunService {
  private readonly runs: Repository<Run>;

  constructor(
    private readonly ds: DataSource,
    private readonly queue: RunQueue,
    private readonly box: SecretBox,
    readonly objects: ObjectService,
  ) {
    this.runs = ds.getRepository(RunEntity);
  }

  /** Persists the run and its inputs in one transaction, then wakes the worker. */
  async create(input: NewRunInput): Promise<Run> {
    const [made] = await this.ds.transaction(async (m) => [await this.insert(m, input, null)]);
    await this.wake(made!);
    return made!.run;
  }

  /** Persists a batch and all its runs in one transaction (all or nothing), then wakes them. */
  async createBatch(input: NewBatch): Promise<{ batchId: string; runs: Run[] }> {
    const batchId = randomUUID();
    const made = await this.ds.transaction(async (m) => {
      await m.getRepository(BatchEntity).insert({
        id: batchId,
        ownerKey: input.owner.key,
        ownerIssuer: input.owner.issuer,
        ownerSubject: input.owner.subject,
        name: input.name,
        tags: input.tags,
        runsTotal: input.runs.length,
        createdAt: new Date(),
      } as Batch);
      const out: { run: Run; token: string }[] = [];
      for (const r of input.runs) out.push(await this.insert(m, r, batchId));
      return out;
    });
    for (const r of made) await this.wake(r);
    return { batchId, runs: made.map((r) => r.run) };
  }

  private async insert(m: EntityManager, input: NewRunInput, batchId: string | null): Promise<{ run: Run; token: string }> {
    const id = input.id ?? randomUUID();
    const token = randomUUID();
    const now = new Date();
    const notBefore = input.notBefore && input.notBefore > now ? input.notBefore : null;
    const row = m.getRepository(RunEntity).create({
      id,
      ownerKey: input.owner.key,
      ownerIssuer: input.owner.issuer,
      ownerSubject: input.owner.subject,
      state: 'QUEUED',
      request: input.request,
      params: input.params,
      tags: input.request.tags ?? {},
      requestedBackend: input.requestedBackend,
      backendId: input.backendId,
      remoteId: null,
      remoteState: null,
      submitIntentAt: null,
      submittedAt: null,
      startTime: null,
      endTime: null,
      tasks: [],
      systemLogs: notBefore ? [...input.reasons, `Scheduled: waits in QUEUED until ${notBefore.toISOString()}.`] : input.reasons,
      errors: [],
      progress: null,
      queuePosition: null,
      passwordEnc: this.box.seal(generateResultPassword()),
      cancelRequested: false,
      outputsFetched: false,
      pollFailures: 0,
      wakeToken: token,
      // A scheduled run's wake-up is its time: the sweeper finds it then even after a restart.
      nextWakeAt: notBefore ?? now,
      leaseOwner: null,
      leaseUntil: null,
      createdAt: now,
      updatedAt: now,
      notBefore,
      batchId,
      candidates: input.failover ?? [],
      attempts: [],
      reasons: input.reasons,
    });
    await m.getRepository(RunEntity).insert(runPatch(row));
    await this.objects.insertInputs(m, row, input.inputs);
    return { run: row, token };
  }

  private async wake({ run, token }: { run: Run; token: string }): Promise<void> {
    // If this enqueue is lost (crash right here), the sweeper finds the run by next_wake_at.
    const delay = run.notBefore ? run.notBefore.getTime() - Date.now() : 0;
    await this.queue.wake({ runId: run.id, token }, Math.max(0, delay));
  }

  /** The run, or 404. Whether the caller may see it is the policy's question (wes/guard.ts). */
  async get(id: string): Promise<Run> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
      throw notFound(`Run '${id.slice(0, 80)}' was not found.`);
    }
    const run = await this.runs.findOneBy({ id: id.toLowerCase() });
    if (!run) throw notFound(`Run '${id}' was not found.`);
    return run;
  }

  /** The run if `ownerKey` owns it; 404 otherwise. */
  async getOwned(id: string, ownerKey: string): Promise<Run> {
    const run = await this.get(id);
    if (run.ownerKey !== ownerKey) throw notFound(`Run '${id}' was not found.`);
    return run;
  }

  /**
   * Only what a RunSummary needs: the heavy jsonb columns stay in the database. Keyset paging on
   * `seq` (stable while runs are added, the same on every replica) and the total count.
   */
  async list(ownerKey: string, pageSize: number, pageToken: string | undefined, filter: RunFilter = {}): Promise<RunPage> {
    const where = (qb: SelectQueryBuilder<Run>) => {
      qb.where('r.owner_key = :ownerKey', { ownerKey });
      if (filter.states?.length) qb.andWhere('r.state IN (:...states)', { states: filter.states });
      for (const [i, [k, v]] of (filter.tags ?? []).entries()) qb.andWhere(`r.tags @> :tag${i}::jsonb`, { [`tag${i}`]: JSON.stringify({ [k]: v }) });
      if (filter.backend) qb.andWhere('r.backend_id = :backend', { backend: filter.backend });
      if (filter.batch) qb.andWhere('r.batch_id = :batch', { batch: filter.batch });
      if (filter.since) qb.andWhere('r.created_at >= :since', { since: filter.since });
      if (filter.until) qb.andWhere('r.created_at < :until', { until: filter.until });
      return qb;
    };
    const qb = where(this.runs.createQueryBuilder('r'))
      .select(['r.id', 'r.seq', 'r.state', 'r.tags', 'r.startTime', 'r.submittedAt', 'r.endTime'])
      .orderBy('r.seq', 'DESC')
      .take(pageSize + 1);
    if (pageToken) qb.andWhere('r.seq < :seq', { seq: decodePageToken(pageToken) });
    const [rows, total] = await Promise.all([qb.getMany(), where(this.runs.createQueryBuilder('r')).getCount()]);
    const more = rows.length > pageSize;
    const page = more ? rows.slice(0, pageSize) : rows;
    return { runs: page, nextPageToken: more ? encodePageToken(page[page.length - 1]!.seq) : '', total };
  }

  /** The caller's batch, or 404 (another user's batch is not confirmed). */
  async getBatch(id: string, ownerKey: string): Promise<Batch> {
    const missing = notFound(`Batch '${id.slice(0, 80)}' was not found.`);
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw missing;
    const batch = await this.ds.getRepository(BatchEntity).findOneBy({ id: id.toLowerCase() });
    if (!batch || batch.ownerKey !== ownerKey) throw missing;
    return batch;
  }

  /** The caller's batches, newest first, keyset-paged on `seq` like the run list. */
  async listBatches(ownerKey: string, pageSize: number, pageToken: string | undefined): Promise<{ batches: Batch[]; nextPageToken: string }> {
    const qb = this.ds
      .getRepository(BatchEntity)
      .createQueryBuilder('b')
      .where('b.owner_key = :ownerKey', { ownerKey })
      .orderBy('b.seq', 'DESC')
      .take(pageSize + 1);
    if (pageToken) qb.andWhere('b.seq < :seq', { seq: decodePageToken(pageToken) });
    const rows = await qb.getMany();
    const more = rows.length > pageSize;
    const page = more ? rows.slice(0, pageSize) : rows;
    return { batches: page, nextPageToken: more ? encodePageToken(page[page.length - 1]!.seq) : '' };
  }

  /** Runs of each batch by WES state. */
  async batchCounts(ids: string[]): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
    if (!ids.length) return out;
    const rows = (await this.ds.query(`SELECT batch_id, state, count(*)::int AS n FROM runs WHERE batch_id = ANY($1::uuid[]) GROUP BY batch_id, state`, [
      ids,
    ])) as { batch_id: string; state: string; n: number }[];
    for (const r of rows) out.get(r.batch_id)![r.state] = r.n;
    return out;
  }

  /** The batch's run ids, in submission order. */
  async batchRunIds(id: string): Promise<string[]> {
    const rows = (await this.ds.query(`SELECT id FROM runs WHERE batch_id = $1 ORDER BY seq`, [id])) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Cancels every run of the batch not yet finished; returns how many were asked to stop. */
  async cancelBatch(id: string): Promise<number> {
    const runs = await this.runs
      .createQueryBuilder('r')
      .where('r.batch_id = :id', { id })
      .andWhere('r.state NOT IN (:...terminal)', { terminal: [...TERMINAL_STATES] })
      .andWhere('r.cancel_requested = false')
      .getMany();
    for (const run of runs) await this.cancel(run);
    return runs.length;
  }

  /** The run's results: outputs, files opened out of its zips, and its bundles. */
  async results(runId: string): Promise<StoredObject[]> {
    return this.objects.ofRun(runId, ['output', 'member', 'bundle']);
  }

  /** Every object of the run: its inputs and its results. */
  async allObjects(runId: string): Promise<StoredObject[]> {
    return this.objects.ofRun(runId, ['input', 'output', 'member', 'bundle']);
  }

  async inputs(runId: string): Promise<StoredObject[]> {
    return this.objects.ofRun(runId, ['input']);
  }

  /**
   * Cancel: a run never sent anywhere is canceled at once; otherwise it is CANCELING until the
   * worker has told the backend and the backend confirms.
   */
  async cancel(run: Run): Promise<Run> {
    // Idempotent, as WES declares no error for it: a finished run is left as it is.
    if (TERMINAL_STATES.has(run.state) || run.cancelRequested) return run;
    const token = randomUUID();
    const state: WesState = run.submitIntentAt ? 'CANCELING' : 'CANCELED';
    const result = await this.runs
      .createQueryBuilder()
      .update()
      .set({
        cancelRequested: true,
        state,
        wakeToken: token,
        nextWakeAt: new Date(),
        updatedAt: new Date(),
        ...(state === 'CANCELED' ? { endTime: new Date() } : {}),
      })
      .where('id = :id AND state = :state', { id: run.id, state: run.state })
      .execute();
    if (!result.affected) return this.cancel(await this.get(run.id)); // raced with the worker; read again
    if (state === 'CANCELING') await this.queue.wake({ runId: run.id, token }, 0);
    return { ...run, state, cancelRequested: true };
  }

  async stateCounts(): Promise<Record<string, number>> {
    const rows: { state: string; n: string }[] = await this.runs
      .createQueryBuilder('r')
      .select('r.state', 'state')
      .addSelect('count(*)', 'n')
      .groupBy('r.state')
      .getRawMany();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Appends a line to the run's system logs (what the owner reads in `run_log.system_logs`). */
  async note(runId: string, line: string): Promise<void> {
    await this.ds.query(`UPDATE runs SET system_logs = system_logs || $2::jsonb, updated_at = now() WHERE id = $1`, [runId, JSON.stringify([line])]);
  }

  resultPassword(run: Run): string {
    return this.box.open(run.passwordEnc);
  }
}
