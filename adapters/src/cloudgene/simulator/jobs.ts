/**
 * Cloudgene's job queue and lifecycle: WAITING with a queue position until one of
 * `serverConcurrency` slots frees, then the pipeline; cancel, DEAD after a "restart", restart,
 * delete and retention (SUCCESS → 8 → 7, FAILED/CANCELED → 9, files removed).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jobIdFor, randomAlnum } from './format';
import { cancelJobMessages, createSteps, dropRunningMessages, failJobMessages } from './messages';
import { resolvePanel, type Profile } from './profiles';
import { runPipeline } from './pipeline';
import { DownloadRegistry } from './workspace';
import { JobState, type Job, type JobParams, type JobStateCode, type Timing } from './types';

export interface EngineOptions {
  profile: Profile;
  workDir: string;
  timing: Timing;
  serverConcurrency: number;
  retentionMs: number;
  registry: DownloadRegistry;
  now: () => number;
  sendMail: boolean;
  mailOf: (username: string) => string;
}

export interface NewJob {
  username: string;
  applicationId: string;
  userAgent: string;
  jobName: string | null;
  params: JobParams;
  uploadDir: string;
  files: { name: string; path: string }[];
}

const ACTIVE: ReadonlySet<number> = new Set([JobState.WAITING, JobState.RUNNING, JobState.EXPORTING]);

export class JobEngine {
  readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly runs = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private lastIdTime = 0;
  private paramCounter = 1000;
  private closed = false;

  constructor(private readonly o: EngineOptions) {}

  isActive(job: Job): boolean {
    return ACTIVE.has(job.state);
  }

  activeCount(username: string): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.username === username && this.isActive(j)) n++;
    return n;
  }

  positionInQueue(job: Job): number {
    if (job.state === JobState.WAITING) {
      const i = this.queue.indexOf(job);
      return i < 0 ? 0 : i;
    }
    return job.state === JobState.RUNNING || job.state === JobState.EXPORTING ? 0 : -1;
  }

  private newId(): string {
    // Two submissions in the same millisecond would collide; the real server is never that fast.
    const t = Math.max(this.o.now(), this.lastIdTime + 1);
    this.lastIdTime = t;
    return jobIdFor(t);
  }

  async submit(input: NewJob): Promise<Job> {
    const id = this.newId();
    const dir = join(this.o.workDir, id);
    await mkdir(join(dir, 'input'), { recursive: true });
    const inputs = [];
    for (const f of input.files) {
      const path = join(dir, 'input', f.name);
      await rename(f.path, path);
      inputs.push({ name: f.name, path });
    }
    await rm(input.uploadDir, { recursive: true, force: true });
    const job: Job = {
      id,
      name: input.jobName ?? id,
      username: input.username,
      applicationId: input.applicationId,
      userAgent: input.userAgent,
      params: input.params,
      inputs,
      dir,
      state: JobState.WAITING,
      submittedOn: this.o.now(),
      startTime: 0,
      endTime: 0,
      deletedOn: -1,
      steps: [],
      outputParamId: ++this.paramCounter,
      outputParamHash: randomAlnum(40),
      outputs: [],
      password: input.params.password ?? randomAlnum(16),
      log: [`[INFO] Job ${id} submitted by ${input.username}.`],
    };
    this.jobs.set(id, job);
    const refpanel = input.params.refpanel ?? '';
    if (resolvePanel(this.o.profile, refpanel) === null) {
      // CloudgeneContext.resolveAppLinks fails in setup: state 5, no steps, reason only in the log.
      const appName = refpanel.startsWith('apps@') ? refpanel.slice(5) : refpanel;
      job.log.push(`[ERROR] Initialization failed: Application ${appName} is not installed or wrong permissions.`);
      job.state = JobState.FAILED;
      job.endTime = this.o.now();
      this.scheduleRetention(job);
      return job;
    }
    this.queue.push(job);
    this.pump();
    return job;
  }

  private pump(): void {
    while (!this.closed && this.runs.size < this.o.serverConcurrency && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      const controller = new AbortController();
      const done = this.run(job, controller.signal).finally(() => {
        this.runs.delete(job.id);
        this.pump();
      });
      this.runs.set(job.id, { controller, done });
    }
  }

  private async run(job: Job, signal: AbortSignal): Promise<void> {
    const panel = resolvePanel(this.o.profile, job.params.refpanel ?? '');
    if (!panel) return;
    try {
      await delay(this.o.timing.queue, undefined, { signal });
      job.state = JobState.RUNNING;
      job.startTime = this.o.now();
      job.steps = createSteps();
      job.log.push('[INFO] Job started.');
      await runPipeline({
        job,
        profile: this.o.profile,
        panel,
        timing: this.o.timing,
        signal,
        now: this.o.now,
        sendMail: this.o.sendMail,
        userMail: this.o.mailOf(job.username),
        setState: (state: JobStateCode) => {
          if (signal.aborted) return;
          job.state = state;
          if (!this.isActive(job)) job.endTime = this.o.now();
        },
        exportOutputs: async () => {
          job.outputs = await this.o.registry.register(job.id, join(job.dir, 'output'));
        },
      });
    } catch (err) {
      if (signal.aborted) return;
      // A crash inside the pipeline is a failed Nextflow run, not a server error.
      job.log.push(`[ERROR] ${(err as Error).message}`);
      dropRunningMessages(job);
      failJobMessages(job, this.o.now());
      job.state = JobState.FAILED;
      job.endTime = this.o.now();
    }
    if (!this.isActive(job)) this.scheduleRetention(job);
  }

  /** Queue.cancel: waiting or running jobs become CANCELED; finished ones are returned unchanged. */
  cancel(job: Job): void {
    if (!this.isActive(job)) return;
    const qi = this.queue.indexOf(job);
    if (qi >= 0) this.queue.splice(qi, 1);
    const run = this.runs.get(job.id);
    run?.controller.abort();
    if (job.steps.length > 0) {
      dropRunningMessages(job);
      cancelJobMessages(job, this.o.now());
    }
    job.state = JobState.CANCELED;
    job.endTime = this.o.now();
    job.log.push('[INFO] Job canceled by user.');
    this.scheduleRetention(job);
  }

  /** What a server restart does to every unfinished job (PersistentWorkflowEngine). */
  killRunning(): string[] {
    const killed: string[] = [];
    for (const job of this.jobs.values()) {
      if (!this.isActive(job)) continue;
      const qi = this.queue.indexOf(job);
      if (qi >= 0) this.queue.splice(qi, 1);
      this.runs.get(job.id)?.controller.abort();
      dropRunningMessages(job);
      job.state = JobState.DEAD;
      job.log.push('[WARN] Job is dead (server restarted).');
      killed.push(job.id);
    }
    return killed;
  }

  async restart(job: Job): Promise<void> {
    await this.runs.get(job.id)?.done;
    await rm(join(job.dir, 'output'), { recursive: true, force: true });
    await rm(join(job.dir, 'tmp'), { recursive: true, force: true });
    this.o.registry.removeJob(job.id);
    job.outputs = [];
    job.steps = [];
    job.state = JobState.WAITING;
    job.startTime = 0;
    job.endTime = 0;
    job.log.push('[INFO] Job restarted.');
    this.queue.push(job);
    this.pump();
  }

  async delete(job: Job): Promise<void> {
    if (this.isActive(job)) this.cancel(job);
    await this.runs.get(job.id)?.done;
    this.o.registry.removeJob(job.id);
    job.outputs = [];
    job.state = JobState.DELETED;
    await rm(job.dir, { recursive: true, force: true });
  }

  private scheduleRetention(job: Job): void {
    if (this.closed || !Number.isFinite(this.o.retentionMs)) return;
    const notifyIn = Math.max(0, this.o.retentionMs - Math.min(this.o.retentionMs / 2, 2 * 86400_000));
    this.later(notifyIn, () => this.notify(job));
    this.later(this.o.retentionMs, () => void this.retire(job));
  }

  private later(ms: number, fn: () => void): void {
    // setTimeout overflows above 2^31-1 ms; such jobs simply never retire within this process.
    if (ms > 2_147_483_647) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private notify(job: Job): void {
    job.deletedOn = job.endTime + this.o.retentionMs;
    if (job.state === JobState.SUCCESS) job.state = JobState.SUCCESS_NOTIFIED;
    else if (job.state === JobState.FAILED || job.state === JobState.CANCELED) job.state = JobState.FAILED_NOTIFIED;
  }

  /** Results deleted: SUCCESS/8 → 7 RETIRED; FAILED/CANCELED → 9. */
  async retire(job: Job): Promise<void> {
    if (this.isActive(job) || job.state === JobState.DELETED || job.state === JobState.RETIRED || job.state === JobState.DEAD) return;
    if (job.deletedOn === -1) job.deletedOn = this.o.now();
    job.state = job.state === JobState.SUCCESS || job.state === JobState.SUCCESS_NOTIFIED ? JobState.RETIRED : JobState.FAILED_NOTIFIED;
    this.o.registry.removeJob(job.id);
    job.outputs = [];
    await rm(job.dir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const pending = [...this.runs.values()];
    pending.forEach((r) => r.controller.abort());
    await Promise.allSettled(pending.map((r) => r.done));
  }
}
