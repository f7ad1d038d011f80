/**
 * A faithful GA4GH WES node on loopback, for adapter tests and the embedded demo: WESkit as the
 * eLwazi/ILIFU nodes run it, or a WES 1.1 node. See shared/backends/README.md §5 for what the
 * `weskit` flavour reproduces.
 *
 *   const sim = createWesSimulator({ flavor: 'weskit', workDir });
 *   const base = await sim.start();                 // http://127.0.0.1:<port>
 *   const wes = `${base}/ga4gh/wes/v1`;
 */
import { mkdir } from 'node:fs/promises';
import type { Hono } from 'hono';
import { createFaultState, type Faults, type RateLimit } from '../../sim/faults';
import { createRunSnapshots } from '../../sim/persistence';
import { startServer, type RunningServer } from '../../sim/server';
import { SignedStore } from '../../sim/storage';
import type { SimPanel } from '../../sim/workflow';
import { RunEngine } from './engine';
import { createRoutes } from './routes';
import type { ParamNames, SimRun, WesSimulatorOptions, WesTiming } from './types';

export type { WesSimulatorOptions, WesTiming, WesFlavorName, ParamNames, SimRun, OutputFile } from './types';
export type { Faults, RateLimit } from '../../sim/faults';

/** Paced for a demo a person watches: a run takes about twenty seconds. */
export const DEFAULT_WES_TIMING: WesTiming = {
  queue: 1_000,
  initialize: 2_000,
  validation: 3_000,
  qc: 4_000,
  imputation: 8_000,
  export: 2_000,
  cancel: 1_500,
};

/** Everything at zero: runs finish as fast as the real work allows (tests). */
export const FAST_WES_TIMING: WesTiming = { queue: 0, initialize: 0, validation: 0, qc: 0, imputation: 0, export: 0, cancel: 0 };

export const WESKIT_WORKFLOW_TYPES: Record<string, string[]> = { NFL: ['22.10.0'], SMK: ['6.10.0'] };
export const STANDARD_WORKFLOW_TYPES: Record<string, string[]> = { NFL: ['DSL2'] };
/** The pipeline pre-installed on the simulated WESkit node, and what a standard node runs. */
export const WESKIT_WORKFLOW = 'file:imputation/main.nf';
export const STANDARD_WORKFLOW = 'https://github.com/genepi/imputationserver2';

export const DEFAULT_PANELS: SimPanel[] = [
  { id: '1000g-phase-3-v5', label: '1000G Phase 3 v5 (GRCh37/hg19)', build: 'hg19', populations: ['afr', 'amr', 'eas', 'eur', 'sas', 'all'] },
  { id: 'h3africa-v6hc-s', label: 'H3Africa v6 High Coverage (GRCh38/hg38)', build: 'hg38', populations: ['afr'] },
];

export const IS2_PARAM_NAMES: ParamNames = {
  files: 'files',
  refpanel: 'refpanel',
  population: 'population',
  build: 'build',
  phasing: 'phasing',
  r2Filter: 'r2Filter',
  mode: 'mode',
  password: 'password',
};

export interface WesSimulator {
  readonly flavor: 'weskit' | 'standard';
  app: Hono;
  start(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  setFaults(faults: Partial<Faults>): void;
  /** 429 with `Retry-After` beyond `maxRequests` per window; null turns it off. */
  setRateLimit(limit: RateLimit | null): void;
  setMaintenance(on: boolean): void;
  /** Every connection is dropped, as a node that died behind its load balancer. */
  setDown(down: boolean): void;
  /** The system reclaims a running run (standard WES 1.1: PREEMPTED). */
  preempt(runId: string): boolean;
  /** Finishes every pending cancellation now (CANCELING → CANCELED). */
  completeCancellations(): string[];
  getRun(runId: string): SimRun | undefined;
  runs(): SimRun[];
}

export function createWesSimulator(options: WesSimulatorOptions): WesSimulator {
  const flavor = options.flavor;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const faults = createFaultState({
    latencyMs: options.latencyMs,
    errorRate: options.errorRate,
    dropRate: options.dropRate,
    rateLimit: options.rateLimit ?? null,
    maintenance: options.maintenance,
  });
  const workflows = options.workflows ?? [flavor === 'weskit' ? WESKIT_WORKFLOW : STANDARD_WORKFLOW];
  const workflowTypes = options.workflowTypes ?? (flavor === 'weskit' ? WESKIT_WORKFLOW_TYPES : STANDARD_WORKFLOW_TYPES);
  const engine = new RunEngine({
    flavor,
    workDir: options.workDir,
    timing: { ...DEFAULT_WES_TIMING, ...options.timing },
    panels: options.panels ?? DEFAULT_PANELS,
    paramNames: { ...IS2_PARAM_NAMES, ...options.paramNames },
    workflows,
    maxConcurrentRuns: options.maxConcurrentRuns ?? 4,
    minSamples: options.minSamples ?? 20,
    allowLoopbackHttp: options.allowLoopbackHttp ?? true,
    now,
  });
  const store = new SignedStore('amz', now);
  const app = createRoutes({
    flavor,
    engine,
    workDir: options.workDir,
    workflowTypes,
    workflows,
    tokens: options.tokens ?? null,
    requireRunDir: options.requireRunDir ?? false,
    s3Outputs: options.s3Outputs ?? true,
    outputStyle: options.outputStyle ?? 'map',
    maxUploadBytes: options.maxUploadBytes ?? 10 * 1024 ** 3,
    presignTtlSeconds: options.presignTtlSeconds ?? 3600,
    store,
    faults,
    now,
    random,
  });
  const snapshots = options.persistRuns ? createRunSnapshots<SimRun>(options.workDir, `wes-${flavor}`) : null;
  let server: RunningServer | null = null;
  let saver: NodeJS.Timeout | null = null;
  const save = (): Promise<void> => snapshots?.save(engine.runs.values()).catch(() => undefined) ?? Promise.resolve();

  return {
    flavor,
    app: app as unknown as Hono,
    async start(port = 0, host = '127.0.0.1') {
      await mkdir(options.workDir, { recursive: true });
      if (snapshots) {
        for (const run of snapshots.load()) engine.restore(run);
        saver = setInterval(() => void save(), 1_000);
        saver.unref();
      }
      server = await startServer(app.fetch, port, host);
      return server.url;
    },
    async close() {
      if (saver) clearInterval(saver);
      await engine.close();
      await save();
      const s = server;
      server = null;
      await s?.close();
    },
    setFaults(next) {
      faults.faults = { ...faults.faults, ...next };
    },
    setRateLimit(limit) {
      faults.rateLimit = limit;
    },
    setMaintenance(on) {
      faults.maintenance = on;
    },
    setDown(down) {
      faults.down = down;
    },
    preempt(runId) {
      const run = engine.runs.get(runId);
      return run ? engine.preempt(run) : false;
    },
    completeCancellations: () => engine.completeCancellations(),
    getRun: (runId) => engine.runs.get(runId),
    runs: () => [...engine.runs.values()],
  };
}
