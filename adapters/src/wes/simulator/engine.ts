/**
 * The WES node's run lifecycle: a queue with `maxConcurrentRuns` slots, input staging (uploaded
 * attachments, https URLs, DRS URIs), the imputation workflow, cancel (CANCELING, then CANCELED),
 * preemption. States follow the flavour: WESkit never says QUEUED (AWAITING_START is INITIALIZING).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TERMINAL_STATES, type WesState } from '../../types';
import { fetchInput, InputFetchError } from '../../sim/inputs';
import { createSteps, runWorkflow, WorkflowFailure, type SimPanel, type StepKey } from '../../sim/workflow';
import { panelIdOf } from '../params';
import type { OutputFile, ParamNames, SimRun, StagedFile, WesFlavorName, WesTiming } from './types';

export interface EngineOptions {
  flavor: WesFlavorName;
  workDir: string;
  timing: WesTiming;
  panels: SimPanel[];
  paramNames: ParamNames;
  workflows: string[];
  maxConcurrentRuns: number;
  minSamples: number;
  allowLoopbackHttp: boolean;
  now: () => number;
}

export interface NewRun {
  id: string;
  user: string;
  fields: Record<string, string>;
  workflowParams: Record<string, unknown>;
  tags: Record<string, string>;
  engineParameters: Record<string, string>;
  dir: string;
  attachments: StagedFile[];
}

/** Nextflow process names of imputationserver2, as a Nextflow engine would report its tasks. */
const NFL_STEPS: Record<StepKey, string> = {
  validation: 'INPUT_VALIDATION',
  qc: 'QUALITY_CONTROL',
  imputation: 'IMPUTATION',
  export: 'EXPORT',
};

class Preempted extends Error {}
class Canceled extends Error {}

async function digest(path: string): Promise<{ sha256: string; md5: string }> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  for await (const chunk of createReadStream(path)) {
    sha256.update(chunk as Buffer);
    md5.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), md5: md5.digest('hex') };
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

export class RunEngine {
  readonly runs = new Map<string, SimRun>();
  readonly #queue: SimRun[] = [];
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  readonly #cancelTimers = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(private readonly o: EngineOptions) {}

  #waitingState(): WesState {
    return this.o.flavor === 'weskit' ? 'INITIALIZING' : 'QUEUED';
  }

  async create(input: NewRun): Promise<SimRun> {
    const now = this.o.now();
    const run: SimRun = {
      id: input.id,
      user: input.user,
      fields: input.fields,
      workflowParams: input.workflowParams,
      tags: input.tags,
      engineParameters: input.engineParameters,
      state: this.#waitingState(),
      createdAt: now,
      startTime: null,
      endTime: null,
      dir: input.dir,
      attachments: input.attachments,
      steps: createSteps(NFL_STEPS),
      outputs: [],
      stdout: [],
      stderr: [],
      systemLogs: [`Run created by ${input.user}`],
      exitCode: null,
      logStamp: new Date(now).toISOString().replace(/[-:.]/g, '').slice(0, 15),
    };
    this.runs.set(run.id, run);
    this.#queue.push(run);
    this.#pump();
    return run;
  }

  /** Adds a run restored from a snapshot; what was in flight failed with the node. */
  restore(run: SimRun): void {
    if (!TERMINAL_STATES.has(run.state)) {
      run.state = 'SYSTEM_ERROR';
      run.endTime = this.o.now();
      run.systemLogs.push('Error: the node restarted while the run was in flight');
      run.stderr.push('ERROR ~ the node restarted while the run was in flight');
      run.exitCode = run.exitCode ?? 1;
      for (const step of run.steps) if (step.state === 'RUNNING' || step.state === 'QUEUED') step.state = 'CANCELED';
    }
    this.runs.set(run.id, run);
  }

  #pump(): void {
    while (!this.#closed && this.#active.size < this.o.maxConcurrentRuns && this.#queue.length > 0) {
      const run = this.#queue.shift() as SimRun;
      const controller = new AbortController();
      const done = this.#execute(run, controller.signal).finally(() => {
        this.#active.delete(run.id);
        this.#pump();
      });
      this.#active.set(run.id, { controller, done });
    }
  }

  #finish(run: SimRun, state: WesState, exitCode: number | null): void {
    if (TERMINAL_STATES.has(run.state)) return;
    run.state = state;
    run.exitCode = exitCode;
    run.endTime = this.o.now();
  }

  #fail(run: SimRun, state: 'EXECUTOR_ERROR' | 'SYSTEM_ERROR', message: string): void {
    run.systemLogs.push(`Error: ${message}`);
    run.stderr.push(`ERROR ~ ${message}`);
    this.#finish(run, state, 1);
  }

  #param(run: SimRun, key: keyof ParamNames): unknown {
    return run.workflowParams[this.o.paramNames[key]];
  }

  async #stageInputs(run: SimRun, signal: AbortSignal): Promise<StagedFile[] | null> {
    const raw = this.#param(run, 'files');
    const refs = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(text).filter((r): r is string => r !== null && r !== '');
    if (refs.length === 0) {
      this.#fail(run, 'EXECUTOR_ERROR', `No input files: workflow_params.${this.o.paramNames.files} is empty`);
      return null;
    }
    const inputDir = join(run.dir, 'inputs');
    await mkdir(inputDir, { recursive: true });
    const staged: StagedFile[] = [];
    for (const ref of refs) {
      if (/^(https?|drs):\/\//i.test(ref)) {
        try {
          staged.push(await fetchInput(ref, inputDir, { allowLoopbackHttp: this.o.allowLoopbackHttp, signal }));
          run.systemLogs.push(`Fetched ${ref.split('?')[0]}`);
        } catch (error) {
          if (signal.aborted) throw error;
          const message = error instanceof InputFetchError ? error.message : (error as Error).message;
          this.#fail(run, 'SYSTEM_ERROR', `Could not stage input ${ref.split('?')[0]}: ${message}`);
          return null;
        }
        continue;
      }
      const attached = run.attachments.find((a) => a.name === ref || a.name === ref.replace(/^file:/, '').replace(/^\.\//, ''));
      if (!attached) {
        this.#fail(run, 'EXECUTOR_ERROR', `Input '${ref}' is neither an attachment of the run nor a URL the node can fetch`);
        return null;
      }
      staged.push(attached);
    }
    return staged;
  }

  #knowsWorkflow(run: SimRun): boolean {
    const url = run.fields.workflow_url ?? '';
    return this.o.workflows.includes(url) || run.attachments.some((a) => `file:${a.name}` === url || a.name === url);
  }

  async #execute(run: SimRun, signal: AbortSignal): Promise<void> {
    const sleep = (ms: number): Promise<void> => delay(ms, undefined, { signal });
    try {
      await sleep(this.o.timing.queue);
      run.state = 'INITIALIZING';
      if (!this.#knowsWorkflow(run)) {
        this.#fail(run, 'SYSTEM_ERROR', `Workflow ${run.fields.workflow_url} is not installed on this node`);
        return;
      }
      const inputs = await this.#stageInputs(run, signal);
      if (inputs === null) return;
      const refpanel = text(this.#param(run, 'refpanel')) ?? '';
      const panel = this.o.panels.find((p) => p.id === panelIdOf(refpanel));
      await sleep(this.o.timing.initialize);
      run.state = 'RUNNING';
      run.startTime = this.o.now();
      run.stdout.push(`N E X T F L O W  ~  version 22.10.0`, `Launching \`${run.fields.workflow_url}\` [${run.id.slice(0, 8)}]`);
      if (!panel) {
        this.#fail(run, 'EXECUTOR_ERROR', `Reference panel '${refpanel}' is not installed on this node (known: ${this.o.panels.map((p) => p.id).join(', ')})`);
        return;
      }
      const outDir = join(run.dir, 'results');
      const files = await runWorkflow({
        params: {
          inputs,
          panel,
          population: text(this.#param(run, 'population')) ?? 'off',
          build: text(this.#param(run, 'build')) ?? 'hg19',
          phasing: text(this.#param(run, 'phasing')) ?? 'eagle',
          r2Filter: text(this.#param(run, 'r2Filter')) ?? '0',
          mode: text(this.#param(run, 'mode')) ?? 'imputation',
        },
        steps: run.steps,
        outDir,
        tmpDir: join(run.dir, 'work'),
        timing: this.o.timing,
        signal,
        now: this.o.now,
        minSamples: this.o.minSamples,
      });
      const outputs: OutputFile[] = [];
      for (const f of files) outputs.push({ name: `results/${f.name}`, path: f.path, size: f.size, ...(await digest(f.path)) });
      run.outputs = outputs;
      run.stdout.push(`Completed at: ${new Date(this.o.now()).toISOString()}`, 'Succeeded   : 4');
      this.#finish(run, 'COMPLETE', 0);
    } catch (error) {
      const reason: unknown = signal.aborted ? signal.reason : error;
      if (reason instanceof Canceled) return; // cancel() owns the state from here
      if (reason instanceof Preempted) {
        for (const s of run.steps) if (s.state === 'RUNNING') Object.assign(s, { state: 'CANCELED', endTime: this.o.now() });
        run.systemLogs.push('The run was preempted: its compute capacity was reclaimed');
        this.#finish(run, 'PREEMPTED', null);
        return;
      }
      if (error instanceof WorkflowFailure) {
        this.#fail(run, 'EXECUTOR_ERROR', error.message);
        return;
      }
      this.#fail(run, 'SYSTEM_ERROR', `The engine crashed: ${(error as Error).message}`);
    }
  }

  /** WES CancelRun: CANCELING now, CANCELED after `timing.cancel`; ended runs stay as they are. */
  cancel(run: SimRun): void {
    if (TERMINAL_STATES.has(run.state) || run.state === 'CANCELING') return;
    const qi = this.#queue.indexOf(run);
    if (qi >= 0) this.#queue.splice(qi, 1);
    this.#active.get(run.id)?.controller.abort(new Canceled());
    run.state = 'CANCELING';
    run.systemLogs.push('Cancel requested');
    const timer = setTimeout(() => this.#completeCancel(run), this.o.timing.cancel);
    timer.unref();
    this.#cancelTimers.set(run.id, timer);
  }

  #completeCancel(run: SimRun): void {
    clearTimeout(this.#cancelTimers.get(run.id));
    this.#cancelTimers.delete(run.id);
    if (run.state !== 'CANCELING') return;
    for (const s of run.steps) if (s.state === 'RUNNING' || s.state === 'QUEUED') Object.assign(s, { state: 'CANCELED', endTime: s.startTime === null ? null : this.o.now() });
    run.state = 'CANCELED';
    run.endTime = this.o.now();
    run.systemLogs.push('Run canceled');
  }

  /** Ends every pending cancellation now (tests that must see CANCELING first hold them long). */
  completeCancellations(): string[] {
    const ids = [...this.#cancelTimers.keys()];
    for (const id of ids) {
      const run = this.runs.get(id);
      if (run) this.#completeCancel(run);
    }
    return ids;
  }

  /** The system reclaims the run's capacity (WES 1.1 PREEMPTED). */
  preempt(run: SimRun): boolean {
    const active = this.#active.get(run.id);
    if (!active) return false;
    active.controller.abort(new Preempted());
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#cancelTimers.values()) clearTimeout(t);
    const pending = [...this.#active.values()];
    pending.forEach((r) => r.controller.abort(new Canceled()));
    await Promise.allSettled(pending.map((r) => r.done));
  }
}
