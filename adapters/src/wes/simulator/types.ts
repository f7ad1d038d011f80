/** Shapes shared by the WES node simulator's modules. */
import type { WesState } from '../../types';
import type { Faults, RateLimit } from '../../sim/faults';
import type { SimPanel, WorkflowStep } from '../../sim/workflow';

export type { Faults, RateLimit } from '../../sim/faults';
export type { SimPanel } from '../../sim/workflow';

/**
 * - `weskit`: WESkit as on the eLwazi/ILIFU nodes (digest §5): NFL/SMK, `file:`/`trs:` workflow
 *   URLs only, never QUEUED, no `/tasks`, lists without tags, outputs `{filesystem, S3}`, Flask
 *   and flask-jwt-extended error answers.
 * - `standard`: a WES 1.1 node: `/tasks` with `task_logs_url`, RunSummary tags in lists, paging,
 *   QUEUED beyond its capacity, PREEMPTED on demand.
 */
export type WesFlavorName = 'weskit' | 'standard';

/** Step durations in ms; real work runs inside them, so a step lasts max(duration, work). */
export interface WesTiming {
  /** Before a run leaves QUEUED (standard) / AWAITING_START (WESkit) when a slot is free. */
  queue: number;
  /** Staging inputs and starting the engine (INITIALIZING). */
  initialize: number;
  validation: number;
  qc: number;
  imputation: number;
  export: number;
  /** CANCELING lasts this long before CANCELED. */
  cancel: number;
}

/** The workflow_params names the simulated workflow reads (default: imputationserver2's). */
export interface ParamNames {
  files: string;
  refpanel: string;
  population: string;
  build: string;
  phasing: string;
  r2Filter: string;
  mode: string;
  password: string;
}

export interface WesSimulatorOptions {
  flavor: WesFlavorName;
  workDir: string;
  /** Workflow URLs the node has (WESkit: `file:` paths under its workflows dir, or `trs://`). */
  workflows?: string[];
  /** `workflow_type → versions`; default WESkit `{NFL: [22.10.0], SMK: [6.10.0]}`, standard `{NFL: [DSL2]}`. */
  workflowTypes?: Record<string, string[]>;
  panels?: SimPanel[];
  paramNames?: Partial<ParamNames>;
  /** Bearer token → user id. When absent the node is open (WESkit without OIDC). */
  tokens?: Record<string, string>;
  /** WESkit deployments that set `require_workdir_tag`: every run needs a `run_dir` tag. */
  requireRunDir?: boolean;
  /** WESkit: also list outputs as pre-signed S3 URLs (default true); without, only node paths. */
  s3Outputs?: boolean;
  /** Standard flavour: `map` (name → URL) or this broker's `{files: [...]}` shape. */
  outputStyle?: 'map' | 'broker';
  maxConcurrentRuns?: number;
  /** Largest upload accepted (413 beyond). */
  maxUploadBytes?: number;
  /** Minimum samples of the simulated pipeline (IS2: 20). */
  minSamples?: number;
  timing?: Partial<WesTiming>;
  latencyMs?: number;
  errorRate?: number;
  dropRate?: number;
  rateLimit?: RateLimit | null;
  maintenance?: boolean;
  /** Allow http inputs and DRS servers on loopback (tests, demo). Default true. */
  allowLoopbackHttp?: boolean;
  /** Keep runs in `workDir/runs.json` across restarts; unfinished ones come back SYSTEM_ERROR. */
  persistRuns?: boolean;
  now?: () => number;
  random?: () => number;
  /** Seconds a pre-signed S3 URL stays valid. */
  presignTtlSeconds?: number;
}

export interface StagedFile {
  name: string;
  path: string;
}

export interface OutputFile {
  name: string;
  path: string;
  size: number;
  sha256: string;
  md5: string;
}

export interface SimRun {
  id: string;
  user: string;
  /** Form fields exactly as received (WESkit echoes them verbatim in `request`). */
  fields: Record<string, string>;
  workflowParams: Record<string, unknown>;
  tags: Record<string, string>;
  engineParameters: Record<string, string>;
  state: WesState;
  createdAt: number;
  startTime: number | null;
  endTime: number | null;
  dir: string;
  attachments: StagedFile[];
  steps: WorkflowStep[];
  outputs: OutputFile[];
  stdout: string[];
  stderr: string[];
  systemLogs: string[];
  exitCode: number | null;
  /** WESkit's `.weskit/<timestamp>` log folder name. */
  logStamp: string;
}
