/**
 * eWES run lifecycle with DNAstack's extras: QUEUED → PREPROCESSING (inputs checked and fetched;
 * PREPROCESSING_ERROR when they cannot be) → INITIALIZING → RUNNING → COMPLETE (or
 * EXECUTOR_ERROR, or COMPLETE_WITH_ERRORS on demand), CANCELING → CANCELED, and the event log
 * (`RUN_SUBMITTED`, `PREPROCESSING`, `RUN_SUBMITTED_TO_ENGINE`, `STATE_TRANSITION`,
 * `ENGINE_STATUS_UPDATE`, `ERROR_OCCURRED`, plus one type the client library does not know).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fetchInput, InputFetchError } from '../../sim/inputs';
import { createSteps, runWorkflow, WorkflowFailure, type SimPanel, type StepKey } from '../../sim/workflow';
import { panelIdOf } from '../../wes/params';
import type { DnaRun, DnastackTiming, SimEngine, SimOutput, SimWorkflow } from './types';

export const TERMINAL = new Set(['COMPLETE', 'COMPLETE_WITH_ERRORS', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREPROCESSING_ERROR', 'NOT_PROCESSED']);

/** WDL call names of the simulated imputation workflow, as Cromwell reports them. */
const WDL_STEPS: Record<StepKey, string> = {
  validation: 'imputation.validate',
  qc: 'imputation.quality_control',
  imputation: 'imputation.minimac4',
  export: 'imputation.export',
};

export interface EngineOptions {
  workDir: string;
  timing: DnastackTiming;
  panels: SimPanel[];
  minSamples: number;
  allowLoopbackHttp: boolean;
  unknownEvents: () => boolean;
  completeWithErrors: () => boolean;
  now: () => number;
}

export interface NewRun {
  id: string;
  namespace: string;
  clientId: string;
  submittedBy: string;
  workflow: SimWorkflow;
  engine: SimEngine;
  request: Record<string, unknown>;
  workflowParams: Record<string, unknown>;
  tags: Record<string, string>;
}

class Canceled extends Error {}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

export class DnaEngine {
  readonly runs = new Map<string, DnaRun>();
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  readonly #cancelTimers = new Map<string, NodeJS.Timeout>();
  #eventCounter = 0;
  #closed = false;

  constructor(private readonly o: EngineOptions) {}

  event(run: DnaRun, type: string, metadata: Record<string, unknown>): void {
    run.events.push({ id: `ev-${++this.#eventCounter}-${randomBytes(3).toString('hex')}`, event_type: type, created_at: iso(this.o.now()), metadata: { event_type: type, ...metadata } });
  }

  #transition(run: DnaRun, state: string, extra: Record<string, unknown> = {}): void {
    const old = run.state;
    run.state = state;
    if (TERMINAL.has(state)) run.endTime = this.o.now();
    this.event(run, 'STATE_TRANSITION', { message: 'Workflow state changed', old_state: old, new_state: state, ...(TERMINAL.has(state) ? { end_time: iso(this.o.now()) } : {}), ...extra });
  }

  async create(input: NewRun): Promise<DnaRun> {
    const run: DnaRun = {
      id: input.id,
      externalId: `cromwell-${randomBytes(4).toString('hex')}`,
      namespace: input.namespace,
      clientId: input.clientId,
      submittedBy: input.submittedBy,
      workflow: input.workflow,
      engineId: input.engine.id,
      request: input.request,
      workflowParams: input.workflowParams,
      tags: input.tags,
      state: 'QUEUED',
      createdAt: this.o.now(),
      startTime: null,
      endTime: null,
      dir: join(this.o.workDir, 'runs', input.id),
      steps: createSteps(WDL_STEPS),
      outputs: [],
      events: [],
      errors: [],
      stdout: [],
      stderr: [],
    };
    await mkdir(run.dir, { recursive: true });
    this.event(run, 'RUN_SUBMITTED', {
      message: 'Run submitted',
      start_time: iso(run.createdAt),
      submitted_by: run.submittedBy,
      state: 'QUEUED',
      workflow_id: run.workflow.id,
      workflow_version_id: run.workflow.versionId,
      workflow_url: `${run.workflow.id}/${run.workflow.versionId}`,
      workflow_name: run.workflow.name,
      workflow_version: run.workflow.versionName,
      workflow_type: 'WDL',
      workflow_type_version: text(input.request.workflow_type_version),
      tags: run.tags,
    });
    this.runs.set(run.id, run);
    if (!this.#closed) {
      const controller = new AbortController();
      const done = this.#execute(run, controller.signal).finally(() => this.#active.delete(run.id));
      this.#active.set(run.id, { controller, done });
    }
    return run;
  }

  restore(run: DnaRun): void {
    if (!TERMINAL.has(run.state)) {
      run.errors.push('The execution engine was restarted while the run was in flight');
      for (const s of run.steps) if (s.state === 'RUNNING' || s.state === 'QUEUED') s.state = 'CANCELED';
      this.#transition(run, 'SYSTEM_ERROR', { errors: run.errors });
    }
    this.runs.set(run.id, run);
  }

  #param(run: DnaRun, key: keyof SimWorkflow['inputs']): unknown {
    return run.workflowParams[run.workflow.inputs[key]];
  }

  #fail(run: DnaRun, state: 'PREPROCESSING_ERROR' | 'EXECUTOR_ERROR' | 'SYSTEM_ERROR', message: string): void {
    run.errors.push(message);
    run.stderr.push(message);
    this.event(run, 'ERROR_OCCURRED', { message, errors: [message] });
    this.#transition(run, state, { errors: [message] });
  }

  async #execute(run: DnaRun, signal: AbortSignal): Promise<void> {
    const sleep = (ms: number): Promise<void> => delay(ms, undefined, { signal });
    const t = this.o.timing;
    try {
      await sleep(t.queue);
      this.#transition(run, 'PREPROCESSING');
      const inputs = run.workflow.inputs;
      const missing = [inputs.files, inputs.refpanel, inputs.build].filter((name) => run.workflowParams[name] === undefined);
      if (missing.length > 0) {
        this.event(run, 'PREPROCESSING', { message: 'Preprocessing workflow parameters', outcome: 'FAILURE' });
        this.#fail(run, 'PREPROCESSING_ERROR', `Required workflow input(s) missing: ${missing.join(', ')}`);
        return;
      }
      const raw = this.#param(run, 'files');
      const refs = (Array.isArray(raw) ? raw : [raw]).map(text).filter((r): r is string => r !== null && r !== '');
      const staged: { name: string; path: string }[] = [];
      const inputDir = join(run.dir, 'inputs');
      await mkdir(inputDir, { recursive: true });
      for (const [i, ref] of refs.entries()) {
        if (!/^(https?|drs):\/\//i.test(ref)) {
          this.event(run, 'PREPROCESSING', { message: 'Preprocessing workflow parameters', outcome: 'FAILURE' });
          this.#fail(run, 'PREPROCESSING_ERROR', `Input ${inputs.files}[${i}] '${ref.split('?')[0]}' is not in a storage account of namespace ${run.namespace}`);
          return;
        }
        try {
          staged.push(await fetchInput(ref, inputDir, { allowLoopbackHttp: this.o.allowLoopbackHttp, signal }));
        } catch (error) {
          if (signal.aborted) throw error;
          this.event(run, 'PREPROCESSING', { message: 'Preprocessing workflow parameters', outcome: 'FAILURE' });
          const why = error instanceof InputFetchError ? error.message : (error as Error).message;
          this.#fail(run, 'PREPROCESSING_ERROR', `Input ${inputs.files}[${i}] could not be localized: ${why}`);
          return;
        }
      }
      await sleep(t.preprocess);
      this.event(run, 'PREPROCESSING', { message: 'Preprocessing workflow parameters', outcome: 'SUCCESS' });
      this.event(run, 'RUN_SUBMITTED_TO_ENGINE', { message: 'Submitted to engine', external_id: run.externalId });
      this.#transition(run, 'INITIALIZING');
      await sleep(t.initialize);
      run.startTime = this.o.now();
      this.#transition(run, 'RUNNING');
      if (this.o.unknownEvents()) this.event(run, 'SAMPLES_UPDATED', { message: 'Samples linked to the run', sample_ids: [] });
      const refpanel = text(this.#param(run, 'refpanel')) ?? '';
      const panel = this.o.panels.find((p) => p.id === panelIdOf(refpanel));
      if (!panel) {
        const first = run.steps[0];
        if (first) Object.assign(first, { state: 'FAILED', exitCode: 1, startTime: this.o.now(), endTime: this.o.now() });
        this.#fail(run, 'EXECUTOR_ERROR', `Task imputation.validate failed: reference panel '${refpanel}' is not available (known: ${this.o.panels.map((p) => p.id).join(', ')})`);
        return;
      }
      const files = await runWorkflow({
        params: {
          inputs: staged,
          panel,
          population: text(this.#param(run, 'population')) ?? 'off',
          build: text(this.#param(run, 'build')) ?? 'hg38',
          phasing: text(this.#param(run, 'phasing')) ?? 'eagle',
          r2Filter: text(this.#param(run, 'r2Filter')) ?? '0',
          mode: text(this.#param(run, 'mode')) ?? 'imputation',
        },
        steps: run.steps,
        outDir: join(run.dir, 'outputs'),
        tmpDir: join(run.dir, 'work'),
        timing: t,
        signal,
        now: this.o.now,
        minSamples: this.o.minSamples,
        onStepStart: (step) => this.event(run, 'ENGINE_STATUS_UPDATE', { message: `Call ${step.name} started`, call: step.name }),
      });
      const outputs: SimOutput[] = [];
      for (const f of files) {
        const hash = createHash('sha256');
        for await (const chunk of createReadStream(f.path)) hash.update(chunk as Buffer);
        outputs.push({ name: f.name, path: f.path, size: f.size, sha256: hash.digest('hex') });
      }
      run.outputs = outputs;
      run.stdout.push(`Workflow ${run.externalId} succeeded`);
      if (this.o.completeWithErrors()) {
        // One output could not be copied back: the rest are there, the run says so.
        const lost = outputs.find((o) => o.name.startsWith('statistics/'));
        if (lost) run.outputs = outputs.filter((o) => o !== lost);
        const message = `Task imputation.export failed to delocalize ${lost?.name ?? 'an output'}`;
        run.errors.push(message);
        this.event(run, 'ERROR_OCCURRED', { message, errors: [message] });
        this.#transition(run, 'COMPLETE_WITH_ERRORS', { errors: [message] });
      } else {
        this.#transition(run, 'COMPLETE', { errors: [] });
      }
      if (this.o.unknownEvents()) this.event(run, 'HOOK_EXECUTED', { message: 'Post-run hook finished', hook_id: 'notify', outcome: 'SUCCESS' });
    } catch (error) {
      const reason: unknown = signal.aborted ? signal.reason : error;
      if (reason instanceof Canceled) return;
      if (error instanceof WorkflowFailure) {
        this.#fail(run, 'EXECUTOR_ERROR', `Task ${WDL_STEPS[error.step]} failed: ${error.message}`);
        return;
      }
      this.#fail(run, 'SYSTEM_ERROR', `The engine failed: ${(error as Error).message}`);
    }
  }

  /** Returns false when the run already ended (eWES answers 409 then). */
  cancel(run: DnaRun): boolean {
    if (TERMINAL.has(run.state)) return false;
    if (run.state === 'CANCELING') return true;
    this.#active.get(run.id)?.controller.abort(new Canceled());
    this.#transition(run, 'CANCELING');
    const timer = setTimeout(() => this.#completeCancel(run), this.o.timing.cancel);
    timer.unref();
    this.#cancelTimers.set(run.id, timer);
    return true;
  }

  #completeCancel(run: DnaRun): void {
    clearTimeout(this.#cancelTimers.get(run.id));
    this.#cancelTimers.delete(run.id);
    if (run.state !== 'CANCELING') return;
    for (const s of run.steps) if (s.state === 'RUNNING' || s.state === 'QUEUED') Object.assign(s, { state: 'CANCELED', endTime: s.startTime === null ? null : this.o.now() });
    this.#transition(run, 'CANCELED');
  }

  completeCancellations(): string[] {
    const ids = [...this.#cancelTimers.keys()];
    for (const id of ids) {
      const run = this.runs.get(id);
      if (run) this.#completeCancel(run);
    }
    return ids;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#cancelTimers.values()) clearTimeout(t);
    const pending = [...this.#active.values()];
    pending.forEach((r) => r.controller.abort(new Canceled()));
    await Promise.allSettled(pending.map((r) => r.done));
  }
}

