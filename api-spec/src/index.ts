/**
 * GA4GH WES 1.1 types for the broker, generated from `api-spec/wes.yaml` into `./wes.ts`
 * (`npm run gen`). Import shapes from here; never re-type a GA4GH shape by hand.
 */
import type { components, operations, paths } from './wes.js';

export type { components, operations, paths } from './wes.js';
export { DRS_SPEC_PATH, loadDrsSpecText, loadWesSpec, loadWesSpecText, WES_SPEC_PATH, type OpenApiDocument } from './spec.js';

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

/*
 * GA4GH DRS 1.5 types, generated from `api-spec/drs.yaml` into `./drs.ts` (`npm run gen`).
 * Names carry a `Drs` prefix where WES already uses the plain one (`Service`, `ServiceType`,
 * `ErrorResponse`...).
 */
import type {
  components as DrsComponents,
  operations as DrsOperationsGenerated,
  paths as DrsPathsGenerated,
} from './drs.js';

export type DrsSchemas = DrsComponents['schemas'];
export type DrsOperations = DrsOperationsGenerated;
export type DrsPaths = DrsPathsGenerated;

export type DrsObject = DrsSchemas['DrsObject'];
export type AccessMethod = DrsSchemas['AccessMethod'];
/** `AccessMethod.type`: `s3`, `gs`, `ftp`, `gsiftp`, `globus`, `htsget`, `https`, `file`. */
export type AccessMethodType = AccessMethod['type'];
export type AccessURL = DrsSchemas['AccessURL'];
export type BulkAccessURL = DrsSchemas['BulkAccessURL'];
export type Checksum = DrsSchemas['Checksum'];
export type ContentsObject = DrsSchemas['ContentsObject'];
export type Authorizations = DrsSchemas['Authorizations'];
/** `Authorizations.supported_types` entries: `None`, `BasicAuth`, `BearerAuth`, `PassportAuth`. */
export type AuthorizationType = NonNullable<Authorizations['supported_types']>[number];
/** The DRS `Error` (`{msg, status_code}`, the same shape as WES `ErrorResponse`). */
export type DrsError = DrsSchemas['Error'];
export type DrsService = DrsSchemas['DrsService'];
export type DrsBaseService = DrsSchemas['Service'];
export type DrsServiceType = DrsSchemas['ServiceType'];
/** `GET /service-info`: service-info 1.0 `Service` and `DrsService` together. */
export type DrsServiceInfo = DrsOperations['GetServiceInfo']['responses'][200]['content']['application/json'];
/** `summary` of a bulk answer: `{requested, resolved, unresolved}`. */
export type BulkSummary = DrsSchemas['summary'];
/** `unresolved_drs_objects` of a bulk answer: `[{error_code, object_ids}]`. */
export type BulkUnresolved = DrsSchemas['unresolved'];

/** Query parameters of `GET /objects/{object_id}` (`expand`). */
export type GetObjectQuery = NonNullable<DrsOperations['GetObject']['parameters']['query']>;
/** Body of `POST /objects/{object_id}`: `{expand?, passports?}`. */
export type PostObjectBody = DrsOperations['PostObject']['requestBody']['content']['application/json'];
/** Body of `POST /objects/{object_id}/access/{access_id}`: `{passports?}`. */
export type PostAccessURLBody = DrsOperations['PostAccessURL']['requestBody']['content']['application/json'];
/** Body of `POST /objects`: `{passports?, bulk_object_ids?}`. */
export type BulkObjectIdRequest = DrsSchemas['BulkObjectId'];
/** Body of `OPTIONS /objects`: `{bulk_object_ids?}`. */
export type BulkObjectIdNoPassportRequest = DrsSchemas['BulkObjectIdNoPassport'];
/** Body of `POST /objects/access`: `{passports?, bulk_object_access_ids?}`. */
export type BulkObjectAccessIdRequest = DrsSchemas['BulkObjectAccessId'];
/** 200 of `POST /objects`: `{summary?, unresolved_drs_objects?, resolved_drs_object?: DrsObject[]}`. */
export type BulkObjectsResponse = DrsOperations['GetBulkObjects']['responses'][200]['content']['application/json'];
/** 200 of `OPTIONS /objects`: `{summary?, unresolved_drs_objects?, resolved_drs_object?: Authorizations[]}`. */
export type BulkAuthorizationsResponse =
  DrsOperations['OptionsBulkObject']['responses'][200]['content']['application/json'];
/** 200 of `POST /objects/access`: `{summary?, unresolved_drs_objects?, resolved_drs_object_access_urls?}`. */
export type BulkAccessURLsResponse =
  DrsOperations['GetBulkAccessURL']['responses'][200]['content']['application/json'];
