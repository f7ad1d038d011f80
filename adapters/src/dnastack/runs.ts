/**
 * DNAstack eWES `ExtendedRun` → RemoteJob: the extra states, the event log, Workbench task logs
 * (which carry their own state) and free-form outputs (cloud URIs or bucket URLs).
 */
import type { RemoteEvent, RemoteJob, RemoteTask, WesState } from '../types';
import { TERMINAL_STATES } from '../types';
import { asArray, asIsoDate, asRecord, asString, asStringMap } from '../http/json';
import { htmlToText } from '../http/html';
import { parseOutputs } from '../wes/outputs';
import { mapWesState } from '../wes/states';
import { runProgress, toTask } from '../wes/tasks';
import { RUN_ID_TAG } from '../wes/submit';
import { readLog, type WireLog } from '../wes/wire';

/**
 * DNAstack's states beyond GA4GH's (DNA `workbench/common/models.py`), per digest §6:
 * - PREPROCESSING: Workbench checks and rewrites the inputs before the engine sees them.
 * - PREPROCESSING_ERROR / NOT_PROCESSED: the platform refused or dropped the run; no workflow
 *   code ran, so the failure is the system's, not the executor's.
 * - COMPLETE_WITH_ERRORS → EXECUTOR_ERROR. Decision: the workflow itself reported failures, and
 *   calling that COMPLETE would hand users partial results as a success. The broker still brings
 *   home whatever outputs exist (it fetches outputs for EXECUTOR_ERROR too), so nothing is lost,
 *   and the errors say what is missing. `rawState` keeps the distinction for anyone who needs it.
 */
const EXTRA_STATES: Readonly<Record<string, WesState>> = {
  PREPROCESSING: 'INITIALIZING',
  PREPROCESSING_ERROR: 'SYSTEM_ERROR',
  NOT_PROCESSED: 'SYSTEM_ERROR',
  COMPLETE_WITH_ERRORS: 'EXECUTOR_ERROR',
};

export function mapEwesState(raw: string | null): WesState {
  if (raw === null) return 'UNKNOWN';
  return EXTRA_STATES[raw.trim().toUpperCase()] ?? mapWesState(raw);
}

export interface WireEvent {
  id: string;
  type: string;
  time: Date | null;
  metadata: Record<string, unknown>;
}

/** Events of any type, known or not (the client library falls back to `UnknownEventMetadata` too). */
export function readEvents(value: unknown): WireEvent[] {
  return asArray(value).flatMap((item, i) => {
    const e = asRecord(item);
    const metadata = asRecord(e.metadata);
    const type = asString(e.event_type) ?? asString(metadata.event_type);
    if (type === null) return [];
    return [{ id: asString(e.id) ?? String(i), type, time: asIsoDate(e.created_at), metadata }];
  });
}

function eventMessage(e: WireEvent): string {
  const m = e.metadata;
  const message = asString(m.message) ?? '';
  if (e.type === 'STATE_TRANSITION') {
    const from = asString(m.old_state);
    const to = asString(m.new_state);
    if (from && to) return `${message ? `${message}: ` : ''}${from} → ${to}`;
  }
  if (e.type === 'PREPROCESSING' && asString(m.outcome)) return `${message || 'Preprocessing'} (${asString(m.outcome)})`;
  return htmlToText(message);
}

function eventErrors(events: WireEvent[]): string[] {
  return events.flatMap((e) => {
    const listed = asArray(e.metadata.errors).flatMap((x) => {
      const s = asString(x);
      return s ? [s] : [];
    });
    if (e.type === 'ERROR_OCCURRED') return listed.length > 0 ? listed : [asString(e.metadata.message) ?? 'An error occurred'];
    return listed;
  });
}

export interface ParsedRun {
  runId: string;
  state: string | null;
  tags: Record<string, string>;
  runLog: WireLog | null;
  errors: string[];
  events: WireEvent[];
  outputs: unknown;
  taskLogs: WireLog[] | null;
}

export function readExtendedRun(body: unknown): ParsedRun {
  const run = asRecord(body);
  const request = asRecord(run.request);
  return {
    runId: asString(run.run_id) ?? '',
    state: asString(run.state),
    tags: asStringMap(request.tags),
    runLog: run.run_log === null || run.run_log === undefined ? null : readLog(run.run_log),
    errors: asArray(run.errors).flatMap((x) => {
      const s = asString(x);
      return s ? [s] : [];
    }),
    events: readEvents(run.events),
    outputs: run.outputs,
    taskLogs: Array.isArray(run.task_logs) ? run.task_logs.map(readLog) : null,
  };
}

export function toRemoteJob(run: ParsedRun, taskLogs: WireLog[], remoteId: string): RemoteJob {
  const state = mapEwesState(run.state);
  const tasks: RemoteTask[] = taskLogs.map((log, i) => toTask(log, i, state));
  const failed = state === 'EXECUTOR_ERROR' || state === 'SYSTEM_ERROR';
  const errors: string[] = [];
  const add = (text: string): void => {
    const t = text.trim();
    if (t !== '' && !errors.includes(t)) errors.push(t);
  };
  if (failed) {
    run.errors.forEach(add);
    eventErrors(run.events).forEach(add);
    for (const t of tasks) if (t.state === 'EXECUTOR_ERROR') add(`task ${t.name} failed`);
    if (errors.length === 0) add(`DNAstack reported ${run.state ?? 'a failure'} without giving a reason`);
  }
  const submitted = run.events.find((e) => e.type === 'RUN_SUBMITTED')?.time ?? null;
  return {
    remoteId: run.runId || remoteId,
    name: run.tags[RUN_ID_TAG] ?? (run.runId || remoteId),
    state,
    rawState: run.state ?? 'null',
    submittedAt: submitted,
    startTime: run.runLog?.startTime ?? null,
    endTime: TERMINAL_STATES.has(state) ? (run.runLog?.endTime ?? null) : null,
    queuePosition: null,
    progress: runProgress(state, tasks),
    tasks,
    outputs: state === 'COMPLETE' || failed ? parseOutputs(run.outputs) : [],
    resultsGone: false,
    errors,
    events: run.events.map((e): RemoteEvent => ({ time: e.time, type: e.type, message: eventMessage(e) })),
  };
}
