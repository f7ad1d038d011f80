/**
 * WES task logs → RemoteTasks, overall progress, and the error messages of a failed run.
 *
 * Standard WES `TaskLog` has no state, only times and an exit code, so a task's state is read
 * from those and the run's state; DNAstack's `Log` carries a state and that wins.
 */
import type { MessageLevel, RemoteTask, TaskMessage, WesState } from '../types';
import { TERMINAL_STATES } from '../types';
import { mapWesState } from './states';
import type { WireLog, WireRunLog } from './wire';

function taskState(log: WireLog, runState: WesState): WesState {
  if (log.state !== null) {
    const own = mapWesState(log.state);
    if (own !== 'UNKNOWN') {
      // A task still "running" in a run that ended was cut short by that ending.
      if (!TERMINAL_STATES.has(own) && TERMINAL_STATES.has(runState)) return runState === 'COMPLETE' ? 'COMPLETE' : 'CANCELED';
      return own;
    }
  }
  if (log.exitCode !== null && log.exitCode !== 0) return 'EXECUTOR_ERROR';
  if (log.endTime !== null) {
    if (log.exitCode === 0) return 'COMPLETE';
    // Ended without an exit code: it finished, unless the run's ending is what stopped it.
    return runState === 'CANCELED' || runState === 'PREEMPTED' ? runState : 'COMPLETE';
  }
  if (log.startTime !== null) {
    if (!TERMINAL_STATES.has(runState)) return 'RUNNING';
    return runState === 'COMPLETE' ? 'COMPLETE' : runState === 'PREEMPTED' ? 'PREEMPTED' : 'CANCELED';
  }
  if (!TERMINAL_STATES.has(runState)) return 'QUEUED';
  // Never started: skipped in a successful run, cut short by any other ending.
  return runState === 'COMPLETE' ? 'COMPLETE' : 'CANCELED';
}

function level(line: string): MessageLevel {
  if (/\b(error|failed|exception|fatal)\b/i.test(line)) return 'error';
  if (/\bwarn(ing)?\b/i.test(line)) return 'warning';
  return 'info';
}

/** `2025-10-16T10:30:00Z [error] text` (this broker's system_logs) keeps its time and level. */
function toMessage(line: string): TaskMessage | null {
  const text = line.trim();
  if (text === '') return null;
  const stamped = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\s+\[(info|warning|error|running)\]\s+([\s\S]*)$/.exec(text);
  if (stamped) {
    const time = new Date(stamped[1] ?? '');
    return { level: (stamped[2] as MessageLevel) ?? 'info', text: stamped[3] ?? '', time: Number.isNaN(time.getTime()) ? null : time };
  }
  return { level: level(text), text, time: null };
}

export function toTask(log: WireLog, index: number, runState: WesState): RemoteTask {
  const state = taskState(log, runState);
  const messages = log.systemLogs.map(toMessage).filter((m): m is TaskMessage => m !== null);
  if (log.exitCode !== null && log.exitCode !== 0) {
    messages.push({ level: 'error', text: `exited with code ${log.exitCode}`, time: log.endTime });
  }
  return {
    id: log.id ?? String(index + 1),
    name: log.name ?? log.id ?? `task ${index + 1}`,
    state,
    startTime: log.startTime,
    endTime: TERMINAL_STATES.has(state) ? log.endTime : null,
    messages,
  };
}

/**
 * 0-100 where it can be known: a run that lists tasks it has not started yet (this broker, eWES)
 * shows how many of them are done. A node that lists only what already runs gives no total, so
 * no number is better than a wrong one. 100 only once the node says COMPLETE.
 */
export function runProgress(state: WesState, tasks: readonly RemoteTask[]): number | null {
  if (state === 'COMPLETE') return 100;
  if (state === 'QUEUED' || state === 'INITIALIZING') return 0;
  if (state !== 'RUNNING' && state !== 'PAUSED') return null;
  if (tasks.length === 0 || !tasks.some((t) => t.state === 'QUEUED')) return null;
  const done = tasks.filter((t) => t.state === 'COMPLETE').length;
  return Math.min(99, Math.round((100 * done) / tasks.length));
}

const ERROR_LINE = /^\s*(error:|\[error\]|error\b|ERROR ~)|\b(failed|exception|not a valid|cannot|could not|no such)\b/i;

/**
 * Why a run failed, from what a WES node can say: the run log's `system_logs` (WES 1.1), failed
 * tasks and their logs, the exit code. Plain lines, de-duplicated, the first few only.
 */
export function failureReasons(run: WireRunLog, tasks: readonly RemoteTask[], stderrText: string | null): string[] {
  const reasons: string[] = [];
  const add = (line: string): void => {
    const text = line.replace(/^\s*(error:\s*|\[error\]\s*)/i, '').trim();
    if (text !== '' && !reasons.includes(text)) reasons.push(text);
  };
  for (const line of run.runLog?.systemLogs ?? []) if (ERROR_LINE.test(line)) add(line);
  for (const task of tasks) {
    for (const m of task.messages) if (m.level === 'error' && !/^exited with code/.test(m.text)) add(`${task.name}: ${m.text}`);
  }
  if (stderrText !== null) {
    for (const line of stderrText.split(/\r?\n/)) if (ERROR_LINE.test(line)) add(line);
  }
  const failedTask = tasks.find((t) => t.state === 'EXECUTOR_ERROR');
  if (reasons.length === 0 && failedTask) add(`task ${failedTask.name} failed`);
  const exit = run.runLog?.exitCode;
  if (reasons.length === 0) {
    add(
      exit !== null && exit !== undefined
        ? `the workflow exited with code ${exit}; the node gives no other reason${run.runLog?.stderr ? ` (its stderr is at ${run.runLog.stderr})` : ''}`
        : 'the node reported the run as failed without giving a reason',
    );
  }
  return reasons.slice(0, 10);
}
