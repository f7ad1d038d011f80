/**
 * Cloudgene JobResponse → RemoteJob in WES vocabulary (state mapping of digest §6).
 */
import type { MessageLevel, RemoteJob, RemoteOutput, RemoteTask, TaskMessage, WesState } from '../types';
import { TERMINAL_STATES } from '../types';
import { exactSize, htmlToText, progressFraction } from './text';
import { asDate, CloudgeneState, MessageType, readJob, type WireJob, type WireMessage, type WireStep } from './wire';

/** IS2 puts every result file in this one output parameter; `cloudgene_logs` is admin noise. */
export const OUTPUT_PARAM = 'output';

const LEVELS: Readonly<Record<number, MessageLevel>> = {
  [MessageType.OK]: 'info',
  [MessageType.ERROR]: 'error',
  [MessageType.WARNING]: 'warning',
  [MessageType.RUNNING]: 'running',
};

export function messageLevel(type: number | null): MessageLevel {
  return (type !== null ? LEVELS[type] : undefined) ?? 'info';
}

/**
 * Cloudgene state code → WES state. Codes 7, 9 and 10 hide what happened before (9 also covers
 * old canceled jobs, 7 follows both success and failure), so for those the step messages decide;
 * the broker should still prefer a terminal state it saw earlier.
 */
export function mapState(code: number | null, steps: readonly WireStep[] = []): WesState {
  switch (code) {
    case CloudgeneState.WAITING:
      return 'QUEUED';
    case CloudgeneState.RUNNING:
    case CloudgeneState.EXPORTING:
      return 'RUNNING';
    case CloudgeneState.SUCCESS:
    case CloudgeneState.SUCCESS_NOTIFIED:
      return 'COMPLETE';
    case CloudgeneState.FAILED:
      return 'EXECUTOR_ERROR';
    case CloudgeneState.CANCELED:
      return 'CANCELED';
    case CloudgeneState.FAILED_NOTIFIED:
      return saysCanceled(steps) ? 'CANCELED' : 'EXECUTOR_ERROR';
    case CloudgeneState.RETIRED:
      return inferEnding(steps);
    case CloudgeneState.DELETED:
      // The user deleted it on the web UI: nobody will finish it, and nothing failed.
      return 'CANCELED';
    case CloudgeneState.DEAD:
      // The server restarted under the job; `restart` can revive it, until then it is not running.
      return 'SYSTEM_ERROR';
    default:
      return 'UNKNOWN';
  }
}

function errorTexts(steps: readonly WireStep[]): string[] {
  return steps.flatMap((s) => s.messages.filter((m) => m.type === MessageType.ERROR).map((m) => htmlToText(m.message)));
}

/** IS2 ends a canceled job with "Pipeline execution canceled." / "Imputation job canceled.". */
function saysCanceled(steps: readonly WireStep[]): boolean {
  return errorTexts(steps).some((t) => /\bcancel(l)?ed\b/i.test(t));
}

function inferEnding(steps: readonly WireStep[]): WesState {
  if (saysCanceled(steps)) return 'CANCELED';
  if (errorTexts(steps).length > 0) return 'EXECUTOR_ERROR';
  const said = steps.flatMap((s) => s.messages.map((m) => m.message));
  if (said.some((m) => /exported successfully/i.test(m))) return 'COMPLETE';
  // The list endpoint sends no steps: without evidence, do not claim success or failure.
  return 'UNKNOWN';
}

function toMessage(m: WireMessage): TaskMessage | null {
  const text = htmlToText(m.message);
  if (text === '') return null;
  return { level: messageLevel(m.type), text, time: asDate(m.time) };
}

/**
 * A step's state from its messages and the job's: Cloudgene has no per-step state, only messages
 * typed OK/ERROR/WARNING/RUNNING, and steps that never started stay empty.
 */
function stepState(step: WireStep, jobState: WesState): WesState {
  const types = new Set(step.messages.map((m) => m.type));
  const jobEnded = TERMINAL_STATES.has(jobState);
  if (types.has(MessageType.ERROR)) return jobState === 'CANCELED' ? 'CANCELED' : 'EXECUTOR_ERROR';
  if (types.has(MessageType.RUNNING)) {
    if (!jobEnded) return 'RUNNING';
    // A step still "running" in a job that ended was interrupted by that ending.
    return jobState === 'COMPLETE' ? 'COMPLETE' : jobState;
  }
  if (step.messages.length > 0) return 'COMPLETE';
  if (!jobEnded) return 'QUEUED';
  // Never started: skipped in a successful job (QC-only mode), cut short in any other ending.
  return jobState === 'COMPLETE' ? 'COMPLETE' : 'CANCELED';
}

function toTask(step: WireStep, jobState: WesState): RemoteTask {
  const state = stepState(step, jobState);
  const times = step.messages.map((m) => asDate(m.time)).filter((d): d is Date => d !== null);
  const first = times.length > 0 ? new Date(Math.min(...times.map((t) => t.getTime()))) : null;
  const last = times.length > 0 ? new Date(Math.max(...times.map((t) => t.getTime()))) : null;
  return {
    id: step.id,
    name: step.name,
    state,
    startTime: first,
    endTime: TERMINAL_STATES.has(state) ? last : null,
    messages: step.messages.map(toMessage).filter((m): m is TaskMessage => m !== null),
  };
}

/**
 * Overall progress 0-100: each step weighs the same; a finished step counts whole, the running
 * one by its progress bars ("Imputation (1/4)"), averaged when a step has several processes.
 */
export function jobProgress(job: WireJob, state: WesState, tasks: readonly RemoteTask[]): number | null {
  if (state === 'COMPLETE') return 100;
  if (state === 'QUEUED' || state === 'INITIALIZING') return 0;
  if (state !== 'RUNNING') return null;
  if (job.steps.length === 0) return 0;
  let done = 0;
  job.steps.forEach((step, i) => {
    const taskState = tasks[i]?.state;
    if (taskState === 'COMPLETE') {
      done += 1;
      return;
    }
    if (taskState !== 'RUNNING') return;
    const bars = step.messages.map((m) => progressFraction(m.message)).filter((f): f is number => f !== null);
    if (bars.length > 0) done += bars.reduce((a, b) => a + b, 0) / bars.length;
  });
  const percent = Math.round((100 * done) / job.steps.length);
  // 100 would claim completion while Cloudgene is still exporting.
  return Math.min(99, Math.max(0, percent));
}

export function toOutputs(job: WireJob): RemoteOutput[] {
  return job.outputParams
    .filter((p) => p.name === OUTPUT_PARAM)
    .flatMap((p) => p.files)
    .map((f) => ({ name: f.name, size: exactSize(f.size), ref: f.hash }));
}

export function toRemoteJob(job: WireJob): RemoteJob {
  const state = mapState(job.state, job.steps);
  const tasks = job.steps.map((s) => toTask(s, state));
  return {
    remoteId: job.id,
    name: job.name,
    state,
    rawState: job.state === null ? 'null' : String(job.state),
    submittedAt: asDate(job.submittedOn),
    startTime: asDate(job.startTime),
    endTime: asDate(job.endTime),
    queuePosition:
      job.state === CloudgeneState.WAITING && job.positionInQueue !== null && job.positionInQueue >= 0
        ? job.positionInQueue
        : null,
    progress: jobProgress(job, state, tasks),
    tasks,
    outputs: toOutputs(job),
    resultsGone: job.state === CloudgeneState.RETIRED || job.state === CloudgeneState.DELETED,
    errors: errorTexts(job.steps).filter((t) => t !== ''),
  };
}

/** JobResponse JSON (from `/status`, `/cancel` or a list page) → RemoteJob. */
export function parseJob(body: unknown): RemoteJob {
  return toRemoteJob(readJob(body));
}
