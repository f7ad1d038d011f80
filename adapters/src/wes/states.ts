/**
 * WES states as nodes report them → the broker's WES states (digest §5, §6).
 */
import type { WesState } from '../types';

const WES_STATES: ReadonlySet<string> = new Set<WesState>([
  'UNKNOWN', 'QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'COMPLETE',
  'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'CANCELING', 'PREEMPTED',
]);

/**
 * WESkit's internal processing stages, should a node leak them instead of the GA4GH names
 * (WESkit `RunStatus.from_stage`): everything before the engine starts is INITIALIZING, WESkit
 * never reports QUEUED.
 */
const WESKIT_STAGES: Readonly<Record<string, WesState>> = {
  RUN_CREATED: 'INITIALIZING',
  PREPARED_EXECUTION: 'INITIALIZING',
  PREPARED: 'INITIALIZING',
  SUBMITTED_EXECUTION: 'INITIALIZING',
  SUBMITTED: 'INITIALIZING',
  AWAITING_START: 'INITIALIZING',
  STARTED_EXECUTION: 'RUNNING',
  STARTED: 'RUNNING',
  FINISHED_EXECUTION: 'COMPLETE',
  FINISHED: 'COMPLETE',
  ERROR: 'SYSTEM_ERROR',
  EXECUTOR_ERROR: 'EXECUTOR_ERROR',
  SYSTEM_ERROR: 'SYSTEM_ERROR',
  CANCELED: 'CANCELED',
  CANCELLED: 'CANCELED',
  CANCELING: 'CANCELING',
  CANCELLING: 'CANCELING',
  PAUSED: 'PAUSED',
};

/** Any state string → a WES state; what no mapping knows is UNKNOWN, never a guess. */
export function mapWesState(raw: string | null): WesState {
  if (raw === null) return 'UNKNOWN';
  const state = raw.trim().toUpperCase();
  if (WES_STATES.has(state)) return state as WesState;
  return WESKIT_STAGES[state] ?? 'UNKNOWN';
}
