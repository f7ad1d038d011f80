/**
 * The Adapter interface: the only seam between the broker and an imputation backend.
 *
 * The broker speaks GA4GH WES to its clients; an adapter speaks whatever the backend speaks
 * (Cloudgene 3 REST, WES, DNAstack eWES) and reports back in the broker's vocabulary:
 * WES states, tasks, output files. Adapters are stateless apart from connection settings;
 * everything that must survive a crash lives in the broker's database.
 */
import type { Readable } from 'node:stream';

/** GA4GH WES 1.1 `State` values. */
export type WesState =
  | 'UNKNOWN'
  | 'QUEUED'
  | 'INITIALIZING'
  | 'RUNNING'
  | 'PAUSED'
  | 'COMPLETE'
  | 'EXECUTOR_ERROR'
  | 'SYSTEM_ERROR'
  | 'CANCELED'
  | 'CANCELING'
  | 'PREEMPTED';

export const TERMINAL_STATES: ReadonlySet<WesState> = new Set([
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
]);

export type GenomeBuild = 'hg19' | 'hg38';

export interface Population {
  id: string;
  label: string;
}

/** A reference panel as discovered from a backend (never hard-coded in the broker). */
export interface Panel {
  /** Full key the backend accepts, e.g. `apps@1000g-phase-3-v5@2.0.0`. */
  key: string;
  /** Pretty id users type, e.g. `1000g-phase-3-v5`. */
  id: string;
  version: string | null;
  label: string;
  /** Build of the panel when the backend says it (Cloudgene labels carry it: "(GRCh37/hg19)"). */
  build: GenomeBuild | null;
  populations: Population[];
  /**
   * Haplotype donors (samples) in the panel, when the backend or its operator says so; absent or
   * null when unknown (Cloudgene's app discovery does not give it). Never estimated.
   */
  samples?: number | null;
  /** Variant sites in the panel, when known; absent or null when unknown. */
  variants?: number | null;
}

/** What a backend offers for the imputation workflow, discovered at run time. */
export interface Catalog {
  /** Application id and version on the backend, e.g. `imputationserver2` / `2.0.12`. */
  appId: string;
  appVersion: string;
  panels: Panel[];
  /** Builds the input may be in (Cloudgene lifts over, so this is not the panel build). */
  builds: string[];
  phasing: string[];
  r2Filter: string[];
  modes: string[];
}

/** Imputation parameters as the backend should receive them (already validated by the broker). */
export interface ImputationParams {
  /** The full panel key from the catalog. */
  refpanel: string;
  population: string;
  build: string;
  phasing: string;
  r2Filter: string;
  mode: string;
  aesEncryption?: boolean;
  meta?: boolean;
}

export interface InputFile {
  /** File name as the backend must see it (Cloudgene: must end in `.vcf.gz`). */
  name: string;
  /** Absolute path of the staged file on the broker's disk; adapters stream it. */
  path: string;
  size: number;
  /**
   * An http(s) URL from which the backend itself can fetch this file (possibly signed and
   * short-lived). Backends without an upload endpoint (DNAstack eWES) or WES nodes configured
   * for URL inputs need it; adapters that upload from `path` ignore it.
   */
  url?: string;
  /**
   * The `drs://` URI of this file in the broker's DRS server. WES nodes that resolve DRS
   * themselves (the eLwazi WESkit fork) take inputs this way instead of an upload.
   */
  drsUri?: string;
}

export interface SubmitRequest {
  /** The broker's run id. Sent as the remote job name so a retry can find the job again. */
  runId: string;
  params: ImputationParams;
  files: InputFile[];
  /** Result password, `[A-Za-z0-9]` only. */
  password: string;
}

export type MessageLevel = 'info' | 'warning' | 'error' | 'running';

export interface TaskMessage {
  level: MessageLevel;
  /** Plain text (HTML stripped). */
  text: string;
  time: Date | null;
}

/** One step of the remote job, exposed as a WES task. */
export interface RemoteTask {
  id: string;
  name: string;
  state: WesState;
  startTime: Date | null;
  endTime: Date | null;
  messages: TaskMessage[];
}

/** A checksum as GA4GH DRS writes it: `type` is an IANA hash name (`sha-256`, `md5`...). */
export interface Checksum {
  type: string;
  checksum: string;
}

/** Where a result lives when the broker cannot (or need not) copy its bytes home. */
export interface OutputReference {
  /** The location exactly as the backend gave it, e.g. `gs://bucket/run/chr20.dose.vcf.gz`. */
  url: string;
  /** The storage kind, as DRS `AccessMethod.type` names it where it can. */
  type: 's3' | 'gs' | 'azure' | 'https' | 'file' | 'drs' | 'other';
  checksums?: Checksum[];
}

/** A result file as listed by the backend; `ref` is opaque to the broker. */
export interface RemoteOutput {
  /** Relative name, may contain `/` (e.g. `statistics/snps-excluded.txt`). */
  name: string;
  /** Size in bytes when the backend says it exactly; Cloudgene only gives "82 MB". */
  size: number | null;
  /** Opaque handle the adapter needs to download it (Cloudgene: the download hash). */
  ref: string;
  /**
   * Set when the output sits in storage the broker cannot read (a `gs://` or `s3://` bucket of
   * the backend's cloud account, a path on the node's own disk): the broker must register it by
   * reference (e.g. as a DRS object with that access method) instead of calling `download`,
   * which refuses such outputs with a `rejected` error. Results whose bytes the adapter can
   * stream leave this unset.
   */
  reference?: OutputReference;
  /** Checksums the backend states for the file (the broker's own WES lists sha-256 and md5). */
  checksums?: Checksum[];
}

/** One entry of a backend's event log (DNAstack eWES `events`), in order of occurrence. */
export interface RemoteEvent {
  time: Date | null;
  /** The backend's event type verbatim, e.g. `STATE_TRANSITION`; unknown types are kept. */
  type: string;
  /** Plain text for people; empty when the backend gave none. */
  message: string;
}

export interface RemoteJob {
  remoteId: string;
  /** Job name on the backend (the broker's run id when we submitted it). */
  name: string;
  state: WesState;
  /** The backend's own state, verbatim (Cloudgene: the numeric code as a string). */
  rawState: string;
  submittedAt: Date | null;
  startTime: Date | null;
  endTime: Date | null;
  /** Position in the backend's queue, when it says so. */
  queuePosition: number | null;
  /** 0-100 when the backend reports progress. */
  progress: number | null;
  tasks: RemoteTask[];
  outputs: RemoteOutput[];
  /** True when the backend deleted the results (Cloudgene: retired or deleted). */
  resultsGone: boolean;
  /** Error messages the backend gave for a failed job, plain text. */
  errors: string[];
  /**
   * What happened to the job so far, when the backend keeps an event log (DNAstack). Optional:
   * the run engine may show them, nothing depends on them.
   */
  events?: RemoteEvent[];
}

export interface HealthReport {
  ok: boolean;
  latencyMs: number;
  maintenance: boolean;
  detail: string;
}

/**
 * Why a backend call failed, in terms the run engine acts on.
 * - `unreachable`: network error, timeout, 5xx: keep state, back off, retry.
 * - `maintenance`: the backend says "try later" (Cloudgene 503).
 * - `capacity`: the backend refuses more concurrent jobs now (Cloudgene "Only N jobs per user").
 * - `auth`: the credentials are missing, expired or revoked.
 * - `not_found`: the remote job does not exist.
 * - `gone`: the file or result was deleted or its download budget is spent.
 * - `rejected`: the backend refused the request for good (bad parameter...).
 * - `rate_limited`: the backend (or a gateway in front of it) answered 429: nothing was done,
 *   the same call may be repeated once `retryAfterMs` has passed. A request refused this way
 *   created nothing, so a submit may simply be tried again (unlike `unreachable`, after which
 *   the job may exist and must be looked up with `findByRunId`).
 */
export type BackendErrorKind =
  | 'unreachable'
  | 'maintenance'
  | 'capacity'
  | 'auth'
  | 'not_found'
  | 'gone'
  | 'rejected'
  | 'rate_limited';

const RETRYABLE: ReadonlySet<BackendErrorKind> = new Set(['unreachable', 'maintenance', 'capacity', 'rate_limited']);

export interface BackendErrorOptions {
  cause?: unknown;
  /** How long the backend asked us to wait (HTTP `Retry-After`), in ms; null when it did not say. */
  retryAfterMs?: number | null;
}

export class BackendError extends Error {
  readonly kind: BackendErrorKind;
  readonly status: number | null;
  /**
   * The backend's own `Retry-After`, in ms, when it gave one (429, some 503s). The run engine
   * should wait at least this long before the next call to this backend; null means "use your
   * own back-off".
   */
  readonly retryAfterMs: number | null;

  constructor(kind: BackendErrorKind, message: string, status: number | null = null, options?: BackendErrorOptions) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'BackendError';
    this.kind = kind;
    this.status = status;
    this.retryAfterMs = options?.retryAfterMs ?? null;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

export interface Adapter {
  /** `cloudgene`, `wes`, `dnastack`. */
  readonly kind: string;
  /** Probe the backend. Never throws: failures come back as `ok: false`. */
  health(): Promise<HealthReport>;
  /** Discover panels, populations and other options. */
  discover(): Promise<Catalog>;
  /** Find a job previously submitted under this run id (idempotent submission). */
  findByRunId(runId: string): Promise<string | null>;
  /** Submit; returns the backend's job id. */
  submit(request: SubmitRequest): Promise<string>;
  getJob(remoteId: string): Promise<RemoteJob>;
  cancel(remoteId: string): Promise<void>;
  /** Resume a job the backend lost (Cloudgene state -1). Optional. */
  restart?(remoteId: string): Promise<void>;
  /**
   * Stream one output file. Each call may spend one of a finite number of downloads. Outputs
   * that carry a `reference` are refused (`rejected`): register those by reference instead.
   */
  download(output: RemoteOutput): Promise<Readable>;
}
