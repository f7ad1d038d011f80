/**
 * The run lifecycle as the APIs see it: create (persist, then enqueue), read, list, cancel.
 * The broker owns the run id; nothing here talks to a backend (that is worker.ts).
 */
import { randomUUID } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { TERMINAL_STATES, type ImputationParams, type WesState } from '@ibroker/adapters/types';
import { RunEntity, runPatch, type Run, type RunRequestRecord, type StoredObject } from '../db/entities';
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
}

export interface RunPage {
  runs: Run[];
  nextPageToken: string;
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
    const id = input.id ?? randomUUID();
    const token = randomUUID();
    const now = new Date();
    const run = await this.ds.transaction(async (m) => {
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
        systemLogs: input.reasons,
        errors: [],
        progress: null,
        queuePosition: null,
        passwordEnc: this.box.seal(generateResultPassword()),
        cancelRequested: false,
        outputsFetched: false,
        pollFailures: 0,
        wakeToken: token,
        nextWakeAt: now,
        leaseOwner: null,
        leaseUntil: null,
        createdAt: now,
        updatedAt: now,
      });
      await m.getRepository(RunEntity).insert(runPatch(row));
      await this.objects.insertInputs(m, row, input.inputs);
      return row;
    });
    // If this enqueue is lost (crash right here), the sweeper finds the run by next_wake_at.
    await this.queue.wake({ runId: id, token }, 0);
    return run;
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

  /** Only what a RunSummary needs: the heavy jsonb columns stay in the database. */
  async list(ownerKey: string, pageSize: number, pageToken: string | undefined): Promise<RunPage> {
    const qb = this.runs
      .createQueryBuilder('r')
      .select(['r.id', 'r.seq', 'r.state', 'r.tags', 'r.startTime', 'r.submittedAt', 'r.endTime'])
      .where('r.owner_key = :ownerKey', { ownerKey })
      .orderBy('r.seq', 'DESC')
      .take(pageSize + 1);
    if (pageToken) qb.andWhere('r.seq < :seq', { seq: decodePageToken(pageToken) });
    const rows = await qb.getMany();
    const more = rows.length > pageSize;
    const page = more ? rows.slice(0, pageSize) : rows;
    return { runs: page, nextPageToken: more ? encodePageToken(page[page.length - 1]!.seq) : '' };
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
