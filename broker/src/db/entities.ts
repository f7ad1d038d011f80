/**
 * Persistent shapes. EntitySchema rather than decorators: tsx/esbuild emit no decorator
 * metadata, and explicit column types keep the SQL in the migration the single source of truth.
 */
import { EntitySchema, type ValueTransformer } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import type { ImputationParams, OutputReference, RemoteTask, WesState } from '@ibroker/adapters/types';

/** PostgreSQL bigint arrives as a string; sizes and sequence numbers stay below 2^53. */
const bigintNumber: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null ? null : Number(v)),
};

/** Tasks as stored: dates serialized as ISO strings inside jsonb. */
export interface StoredTask extends Omit<RemoteTask, 'startTime' | 'endTime' | 'messages'> {
  startTime: string | null;
  endTime: string | null;
  messages: { level: string; text: string; time: string | null }[];
}

export interface RunRequestRecord {
  workflow_params: Record<string, unknown>;
  workflow_type: string;
  workflow_type_version: string;
  workflow_url: string;
  tags?: Record<string, string>;
  workflow_engine?: string;
  workflow_engine_version?: string;
  workflow_engine_parameters?: Record<string, string>;
}

export interface Run {
  id: string;
  seq: number;
  ownerKey: string;
  ownerIssuer: string;
  ownerSubject: string;
  state: WesState;
  request: RunRequestRecord;
  params: ImputationParams;
  tags: Record<string, string>;
  /** `auto` or a configured backend id, as the client asked. */
  requestedBackend: string;
  backendId: string | null;
  remoteId: string | null;
  remoteState: string | null;
  /** Set before the backend is called: a retry that finds it set must look the job up first. */
  submitIntentAt: Date | null;
  submittedAt: Date | null;
  startTime: Date | null;
  endTime: Date | null;
  tasks: StoredTask[];
  systemLogs: string[];
  errors: string[];
  progress: number | null;
  queuePosition: number | null;
  /** Result password, AES-256-GCM under the broker's key. */
  passwordEnc: string;
  cancelRequested: boolean;
  outputsFetched: boolean;
  /** Consecutive failed polls; drives the backoff and never the run's state. */
  pollFailures: number;
  /** Token of the one queue job allowed to advance this run; stale jobs see a mismatch and stop. */
  wakeToken: string | null;
  nextWakeAt: Date | null;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** A scheduled run waits in QUEUED until then. */
  notBefore: Date | null;
  batchId: string | null;
  /** `auto` only: the backends failover may still try, in order. */
  candidates: string[];
  /** Each submission attempt, for the owner (GET /api/v1/runs/{id}/routing). */
  attempts: RunAttempt[];
  /** Why the first backend was chosen. */
  reasons: string[];
}

export interface RunAttempt {
  backend: string;
  started_at: string;
  outcome: 'submitted' | 'failed_over' | 'failed';
  message: string;
}

/** Many runs submitted in one request. */
export interface Batch {
  id: string;
  seq: number;
  ownerKey: string;
  ownerIssuer: string;
  ownerSubject: string;
  name: string | null;
  tags: Record<string, string>;
  runsTotal: number;
  createdAt: Date;
}

/**
 * What an object is to its run: an uploaded `input`, an `output` the backend produced, a `member`
 * opened out of a result zip, or a `bundle` listing other objects (DRS `contents`).
 */
export type ObjectRole = 'input' | 'output' | 'member' | 'bundle';

/** A GA4GH DRS object: a blob (bytes in the blob store) or a bundle of other objects. */
export interface StoredObject {
  id: string;
  /** The run it belongs to; null for an upload no run uses yet. */
  runId: string | null;
  role: ObjectRole;
  /** Portable file name (a path for outputs in sub-directories, e.g. `statistics/x.txt`). */
  name: string;
  description: string | null;
  size: number;
  sha256: string;
  md5: string;
  /** The bytes in the blob store; null for bundles and for results registered by reference. */
  blobKey: string | null;
  /** A result the backend keeps in storage the broker cannot read: its URL and the kind of storage. */
  referenceUrl: string | null;
  referenceType: OutputReference['type'] | null;
  /** For a reference: the checksums the backend states (`sha256`/`md5` are '' unless among them). */
  statedChecksums: { type: string; checksum: string }[];
  mimeType: string;
  /** For outputs: the backend's handle, so a file already fetched is never downloaded twice. */
  remoteRef: string | null;
  /** The bundle that lists this object in its `contents`. */
  parentId: string | null;
  /** For a member: the zip it was opened out of. */
  sourceId: string | null;
  ownerIssuer: string;
  ownerSubject: string;
  /** Policy dataset ids (the run's `dataset` tag) that grant read access. */
  datasets: string[];
  createdAt: Date;
}

export interface BackendState {
  id: string;
  healthy: boolean;
  consecutiveFailures: number;
  lastCheckedAt: Date | null;
  lastOkAt: Date | null;
  lastError: string | null;
  latencyMs: number | null;
  catalog: unknown;
  catalogAt: Date | null;
  /** First failure of the current outage (probes and run calls alike); null while healthy. */
  failingSince?: Date | null;
  /** Until when a replica has claimed the next health probe. */
  nextCheckAt?: Date | null;
}

const ts = { type: 'timestamptz' as const, nullable: true };

export const RunEntity = new EntitySchema<Run>({
  name: 'Run',
  tableName: 'runs',
  columns: {
    id: { type: 'uuid', primary: true },
    seq: { type: 'bigint', generated: 'increment', transformer: bigintNumber, insert: false },
    ownerKey: { type: 'text', name: 'owner_key' },
    ownerIssuer: { type: 'text', name: 'owner_issuer' },
    ownerSubject: { type: 'text', name: 'owner_subject' },
    state: { type: 'text' },
    request: { type: 'jsonb' },
    params: { type: 'jsonb' },
    tags: { type: 'jsonb' },
    requestedBackend: { type: 'text', name: 'requested_backend' },
    backendId: { type: 'text', name: 'backend_id', nullable: true },
    remoteId: { type: 'text', name: 'remote_id', nullable: true },
    remoteState: { type: 'text', name: 'remote_state', nullable: true },
    submitIntentAt: { ...ts, name: 'submit_intent_at' },
    submittedAt: { ...ts, name: 'submitted_at' },
    startTime: { ...ts, name: 'start_time' },
    endTime: { ...ts, name: 'end_time' },
    tasks: { type: 'jsonb' },
    systemLogs: { type: 'jsonb', name: 'system_logs' },
    errors: { type: 'jsonb' },
    progress: { type: 'integer', nullable: true },
    queuePosition: { type: 'integer', name: 'queue_position', nullable: true },
    passwordEnc: { type: 'text', name: 'password_enc' },
    cancelRequested: { type: 'boolean', name: 'cancel_requested' },
    outputsFetched: { type: 'boolean', name: 'outputs_fetched' },
    pollFailures: { type: 'integer', name: 'poll_failures' },
    wakeToken: { type: 'text', name: 'wake_token', nullable: true },
    nextWakeAt: { ...ts, name: 'next_wake_at' },
    leaseOwner: { type: 'text', name: 'lease_owner', nullable: true },
    leaseUntil: { ...ts, name: 'lease_until' },
    createdAt: { type: 'timestamptz', name: 'created_at' },
    updatedAt: { type: 'timestamptz', name: 'updated_at' },
    notBefore: { ...ts, name: 'not_before' },
    batchId: { type: 'uuid', name: 'batch_id', nullable: true },
    candidates: { type: 'jsonb' },
    attempts: { type: 'jsonb' },
    reasons: { type: 'jsonb' },
  },
});

export const BatchEntity = new EntitySchema<Batch>({
  name: 'Batch',
  tableName: 'batches',
  columns: {
    id: { type: 'uuid', primary: true },
    seq: { type: 'bigint', generated: 'increment', transformer: bigintNumber, insert: false },
    ownerKey: { type: 'text', name: 'owner_key' },
    ownerIssuer: { type: 'text', name: 'owner_issuer' },
    ownerSubject: { type: 'text', name: 'owner_subject' },
    name: { type: 'text', nullable: true },
    tags: { type: 'jsonb' },
    runsTotal: { type: 'integer', name: 'runs_total' },
    createdAt: { type: 'timestamptz', name: 'created_at' },
  },
});

export const ObjectEntity = new EntitySchema<StoredObject>({
  name: 'StoredObject',
  tableName: 'objects',
  columns: {
    id: { type: 'uuid', primary: true },
    runId: { type: 'uuid', name: 'run_id', nullable: true },
    role: { type: 'text' },
    name: { type: 'text' },
    description: { type: 'text', nullable: true },
    size: { type: 'bigint', transformer: bigintNumber },
    sha256: { type: 'text' },
    md5: { type: 'text' },
    blobKey: { type: 'text', name: 'blob_key', nullable: true },
    referenceUrl: { type: 'text', name: 'reference_url', nullable: true },
    referenceType: { type: 'text', name: 'reference_type', nullable: true },
    statedChecksums: { type: 'jsonb', name: 'stated_checksums' },
    mimeType: { type: 'text', name: 'mime_type' },
    remoteRef: { type: 'text', name: 'remote_ref', nullable: true },
    parentId: { type: 'uuid', name: 'parent_id', nullable: true },
    sourceId: { type: 'uuid', name: 'source_id', nullable: true },
    ownerIssuer: { type: 'text', name: 'owner_issuer' },
    ownerSubject: { type: 'text', name: 'owner_subject' },
    datasets: { type: 'text', array: true },
    createdAt: { type: 'timestamptz', name: 'created_at' },
  },
});

export const BackendStateEntity = new EntitySchema<BackendState>({
  name: 'BackendState',
  tableName: 'backend_states',
  columns: {
    id: { type: 'text', primary: true },
    healthy: { type: 'boolean' },
    consecutiveFailures: { type: 'integer', name: 'consecutive_failures' },
    lastCheckedAt: { ...ts, name: 'last_checked_at' },
    lastOkAt: { ...ts, name: 'last_ok_at' },
    lastError: { type: 'text', name: 'last_error', nullable: true },
    latencyMs: { type: 'integer', name: 'latency_ms', nullable: true },
    catalog: { type: 'jsonb', nullable: true },
    catalogAt: { ...ts, name: 'catalog_at' },
    failingSince: { ...ts, name: 'failing_since' },
    nextCheckAt: { ...ts, name: 'next_check_at' },
  },
});

/** TypeORM's deep-partial type cannot follow `Record<string, unknown>` into jsonb columns. */
export function runPatch(patch: Partial<Run>): QueryDeepPartialEntity<Run> {
  return patch as QueryDeepPartialEntity<Run>;
}

export const entities = [RunEntity, ObjectEntity, BackendStateEntity, BatchEntity];
