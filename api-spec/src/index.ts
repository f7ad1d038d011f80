/**
 * GA4GH WES 1.1 types for the broker, generated from `api-spec/wes.yaml` into `./wes.ts`
 * (`npm run gen`). Import shapes from here; never re-type a GA4GH shape by hand.
 */
import type { components, operations, paths } from './wes.js';

export type { components, operations, paths } from './wes.js';
export { loadWesSpec, loadWesSpecText, WES_SPEC_PATH, type OpenApiDocument } from './spec.js';

export type WesSchemas = components['schemas'];
export type WesOperations = operations;
export type WesPaths = paths;

export type ServiceInfo = WesSchemas['ServiceInfo'];
export type Service = WesSchemas['Service'];
export type ServiceType = WesSchemas['ServiceType'];
export type WorkflowTypeVersion = WesSchemas['WorkflowTypeVersion'];
export type WorkflowEngineVersion = WesSchemas['WorkflowEngineVersion'];
export type DefaultWorkflowEngineParameter = WesSchemas['DefaultWorkflowEngineParameter'];
export type RunId = WesSchemas['RunId'];
export type State = WesSchemas['State'];
export type RunStatus = WesSchemas['RunStatus'];
export type RunSummary = WesSchemas['RunSummary'];
export type RunRequest = WesSchemas['RunRequest'];
export type RunLog = WesSchemas['RunLog'];
export type RunListResponse = WesSchemas['RunListResponse'];
export type Log = WesSchemas['Log'];
export type TaskLog = WesSchemas['TaskLog'];
export type TaskListResponse = WesSchemas['TaskListResponse'];
export type ErrorResponse = WesSchemas['ErrorResponse'];

/** The multipart form fields of `POST /runs` (all strings except the attachments). */
export type RunWorkflowForm = NonNullable<operations['RunWorkflow']['requestBody']>['content']['multipart/form-data'];
/** Query parameters of `GET /runs`. */
export type ListRunsQuery = NonNullable<operations['ListRuns']['parameters']['query']>;
/** Query parameters of `GET /runs/{run_id}/tasks`. */
export type ListTasksQuery = NonNullable<operations['ListTasks']['parameters']['query']>;

/** Every WES `State`, in the spec's order. */
export const WES_STATES = [
  'UNKNOWN',
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'PAUSED',
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'CANCELING',
  'PREEMPTED',
] as const satisfies readonly State[];

// Compile-time proof that WES_STATES lists every State (a test checks the order against the spec).
type MissingStates = Exclude<State, (typeof WES_STATES)[number]>;
const allStatesListed: MissingStates extends never ? true : MissingStates = true;
void allStatesListed;

export function isWesState(value: unknown): value is State {
  return typeof value === 'string' && (WES_STATES as readonly string[]).includes(value);
}
