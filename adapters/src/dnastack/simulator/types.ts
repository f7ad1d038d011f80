/** Shapes shared by the DNAstack Workbench simulator's modules. */
import type { Faults, RateLimit } from '../../sim/faults';
import type { SimPanel, WorkflowStep } from '../../sim/workflow';

export type { Faults, RateLimit } from '../../sim/faults';

/** A service account of the wallet (client credentials) and the namespace it works in. */
export interface SimClient {
  clientId: string;
  clientSecret: string;
  namespace: string;
  email?: string;
}

/** Input names of the registered WDL workflow, by what the simulated workflow reads them for. */
export interface WdlInputs {
  files: string;
  refpanel: string;
  population: string;
  build: string;
  phasing: string;
  r2Filter: string;
  mode: string;
}

export interface SimWorkflow {
  /** Workbench internal id and version id: `workflow_url = <id>/<versionId>`. */
  id: string;
  versionId: string;
  name: string;
  versionName: string;
  /** WDL versions of the descriptor. */
  typeVersions: string[];
  inputs: WdlInputs;
}

export interface SimEngine {
  id: string;
  name: string;
  provider: 'AWS' | 'AZURE' | 'GCP' | 'LOCAL';
  region: string | null;
  default: boolean;
}

/** Step durations in ms; real work runs inside them. */
export interface DnastackTiming {
  queue: number;
  preprocess: number;
  initialize: number;
  validation: number;
  qc: number;
  imputation: number;
  export: number;
  cancel: number;
}

export interface DnastackSimulatorOptions {
  workDir: string;
  clients: SimClient[];
  workflows?: SimWorkflow[];
  engines?: SimEngine[];
  panels?: SimPanel[];
  tokenLifetimeSeconds?: number;
  /** Where the service registry lives: `''`, `service-registry/` or `api/service-registry/` (default). */
  registryPath?: '' | 'service-registry/' | 'api/service-registry/';
  /** Serve `users/me` (default true); without it clients must take the namespace from the token. */
  userService?: boolean;
  /** Outputs as `gs://` URIs the broker cannot read, instead of signed bucket URLs. */
  gsOutputs?: boolean;
  /** Successful runs end COMPLETE_WITH_ERRORS (a task's outputs could not be delocalized). */
  completeWithErrors?: boolean;
  /** Also log an event type the client library does not know (default true). */
  unknownEvents?: boolean;
  minSamples?: number;
  timing?: Partial<DnastackTiming>;
  latencyMs?: number;
  errorRate?: number;
  dropRate?: number;
  rateLimit?: RateLimit | null;
  maintenance?: boolean;
  allowLoopbackHttp?: boolean;
  persistRuns?: boolean;
  presignTtlSeconds?: number;
  /** Page size of the run list when the client does not ask (eWES default 20). */
  defaultPageSize?: number;
  now?: () => number;
  random?: () => number;
  jwtSecret?: string;
}

export interface SimEvent {
  id: string;
  event_type: string;
  created_at: string;
  metadata: Record<string, unknown>;
}

export interface SimOutput {
  /** Relative path, e.g. `chr20.dose.vcf.gz`, `statistics/snps-excluded.txt`. */
  name: string;
  path: string;
  size: number;
  sha256: string;
}

export interface DnaRun {
  id: string;
  externalId: string;
  namespace: string;
  clientId: string;
  submittedBy: string;
  workflow: SimWorkflow;
  engineId: string;
  request: Record<string, unknown>;
  workflowParams: Record<string, unknown>;
  tags: Record<string, string>;
  /** eWES state, with DNAstack's extra values. */
  state: string;
  createdAt: number;
  startTime: number | null;
  endTime: number | null;
  dir: string;
  steps: WorkflowStep[];
  outputs: SimOutput[];
  events: SimEvent[];
  errors: string[];
  stdout: string[];
  stderr: string[];
}
