/** Shapes shared by the Cloudgene 3 simulator's modules. */

export type ProfileName = 'mis2' | 'afrigen';

export interface SimUser {
  username: string;
  password: string;
  admin?: boolean;
  fullName?: string;
  mail?: string;
}

/** Step durations in ms. Real work (reading inputs, writing results) runs inside them, so a step lasts max(duration, work). */
export interface Timing {
  /** Pause before a job leaves the queue even when a slot is free. */
  queue: number;
  validation: number;
  qc: number;
  /** Whole phasing step, split over the chunks to draw the (k/n) progress bar. */
  phasing: number;
  imputation: number;
  compression: number;
  export: number;
}

export interface Faults {
  latencyMs: number;
  /** Fraction of requests answered with 500. */
  errorRate: number;
  /** Fraction of connections destroyed without any response. */
  dropRate: number;
}

export interface SimulatorOptions {
  profile?: ProfileName;
  workDir: string;
  users: SimUser[];
  maxRunningJobsPerUser?: number;
  maxDownloads?: number;
  serverConcurrency?: number;
  timing?: Partial<Timing>;
  retentionMs?: number;
  jwtSecret?: string;
  latencyMs?: number;
  errorRate?: number;
  dropRate?: number;
  maintenance?: boolean;
  /** When true the last message names the user's mail instead of printing the password (production MIS/TOPMed). */
  sendMail?: boolean;
  /** Injectable clock (epoch ms) for job times and token expiry. */
  now?: () => number;
  /**
   * Keep jobs and download counters in `workDir/jobs.json` across restarts; unfinished jobs come
   * back DEAD (-1), as Cloudgene's own do. Off by default (tests start clean).
   */
  persistJobs?: boolean;
  /** Injectable randomness for the fault knobs. */
  random?: () => number;
}

/** The server's numeric job states: the same protocol constants the client reads. */
export { CloudgeneState as JobState } from '../wire';
import { CloudgeneState as JobState } from '../wire';
export type JobStateCode = (typeof JobState)[keyof typeof JobState];

export const MessageType = { OK: 0, ERROR: 1, WARNING: 2, RUNNING: 3 } as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

export interface LogMessage {
  message: string;
  type: MessageTypeCode;
  time: number;
}

export interface Step {
  id: number;
  name: string;
  logMessages: LogMessage[];
}

export interface OutputFile {
  /** Relative to the output folder, may contain `/`. */
  name: string;
  absPath: string;
  bytes: number;
  hash: string;
}

/** Parameters as the app receives them after Cloudgene's form rules (escaped, checkboxes resolved). */
export interface JobParams {
  refpanel: string | null;
  population: string | null;
  build: string;
  r2Filter: string;
  phasing: string;
  mode: string;
  aesEncryption: boolean;
  meta: boolean;
  password: string | null;
}

export interface InputVcf {
  name: string;
  path: string;
}

export interface Job {
  id: string;
  name: string;
  username: string;
  applicationId: string;
  userAgent: string;
  params: JobParams;
  inputs: InputVcf[];
  dir: string;
  state: JobStateCode;
  submittedOn: number;
  startTime: number;
  endTime: number;
  deletedOn: number;
  steps: Step[];
  outputParamId: number;
  outputParamHash: string;
  outputs: OutputFile[];
  /** The result password actually used (sent one, else generated). */
  password: string;
  /** Lines of `job.txt`, served by `/logs/{id}`. */
  log: string[];
}
