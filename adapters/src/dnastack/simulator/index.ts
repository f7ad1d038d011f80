/**
 * A faithful DNAstack Workbench on loopback, for adapter tests and the embedded demo: service
 * registry, wallet (client credentials), user and workflow services, eWES under a namespace with
 * DNAstack's states and events, and a bucket serving results by signed URL. See
 * shared/backends/README.md §4 for what it reproduces.
 *
 *   const sim = createDnastackSimulator({ workDir, clients: [{ clientId, clientSecret, namespace }] });
 *   const base = await sim.start();     // registry at `${base}/api/service-registry/services`
 */
import { mkdir } from 'node:fs/promises';
import type { Hono } from 'hono';
import { createFaultState, type Faults, type RateLimit } from '../../sim/faults';
import { createRunSnapshots } from '../../sim/persistence';
import { startServer, type RunningServer } from '../../sim/server';
import { SignedStore } from '../../sim/storage';
import { DEFAULT_PANELS } from '../../wes/simulator/index';
import { DnaEngine } from './engine';
import { createRoutes, serviceUrls } from './routes';
import { Wallet } from './wallet';
import type { DnaRun, DnastackSimulatorOptions, DnastackTiming, SimEngine, SimWorkflow } from './types';

export type { DnastackSimulatorOptions, DnastackTiming, SimClient, SimWorkflow, SimEngine, DnaRun, WdlInputs } from './types';

export const DEFAULT_DNASTACK_TIMING: DnastackTiming = {
  queue: 1_000,
  preprocess: 2_000,
  initialize: 2_000,
  validation: 3_000,
  qc: 4_000,
  imputation: 8_000,
  export: 2_000,
  cancel: 1_500,
};

export const FAST_DNASTACK_TIMING: DnastackTiming = { queue: 0, preprocess: 0, initialize: 0, validation: 0, qc: 0, imputation: 0, export: 0, cancel: 0 };

/** A WDL port of the imputation pipeline registered in the namespace (invented ids, as in the fixtures). */
export const DEFAULT_WORKFLOW: SimWorkflow = {
  id: 'wf_8d2b1c',
  versionId: 'v1_0_3',
  name: 'imputation',
  versionName: '1.0.3',
  typeVersions: ['1.0'],
  inputs: {
    files: 'imputation.vcf_files',
    refpanel: 'imputation.reference_panel',
    population: 'imputation.population',
    build: 'imputation.build',
    phasing: 'imputation.phasing',
    r2Filter: 'imputation.r2_filter',
    mode: 'imputation.mode',
  },
};

export const DEFAULT_ENGINES: SimEngine[] = [
  { id: 'cromwell-gcp-1', name: 'Cromwell on GCP', provider: 'GCP', region: 'us-central1', default: true },
  { id: 'cromwell-aws-1', name: 'Cromwell on AWS', provider: 'AWS', region: 'ca-central-1', default: false },
];

export interface DnastackSimulator {
  app: Hono;
  start(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** The service URLs as a client reaching `origin` sees them. */
  serviceUrls(origin: string): { ewes: string; users: string; workflows: string };
  setFaults(faults: Partial<Faults>): void;
  setRateLimit(limit: RateLimit | null): void;
  setMaintenance(on: boolean): void;
  setDown(down: boolean): void;
  /** Outputs as unreachable `gs://` URIs from now on (true) or as signed bucket URLs (false). */
  setGsOutputs(on: boolean): void;
  setCompleteWithErrors(on: boolean): void;
  /** Every token issued so far stops working: clients must fetch a new one. */
  revokeTokens(): void;
  /** Tokens the wallet has issued. */
  tokensIssued(): number;
  completeCancellations(): string[];
  getRun(runId: string): DnaRun | undefined;
  runs(): DnaRun[];
}

export function createDnastackSimulator(options: DnastackSimulatorOptions): DnastackSimulator {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const faults = createFaultState({
    latencyMs: options.latencyMs,
    errorRate: options.errorRate,
    dropRate: options.dropRate,
    rateLimit: options.rateLimit ?? null,
    maintenance: options.maintenance,
  });
  let gsOutputs = options.gsOutputs ?? false;
  let completeWithErrors = options.completeWithErrors ?? false;
  const unknownEvents = options.unknownEvents ?? true;
  const wallet = new Wallet(options.clients, options.tokenLifetimeSeconds ?? 3600, now, options.jwtSecret);
  const engine = new DnaEngine({
    workDir: options.workDir,
    timing: { ...DEFAULT_DNASTACK_TIMING, ...options.timing },
    panels: options.panels ?? DEFAULT_PANELS,
    minSamples: options.minSamples ?? 20,
    allowLoopbackHttp: options.allowLoopbackHttp ?? true,
    unknownEvents: () => unknownEvents,
    completeWithErrors: () => completeWithErrors,
    now,
  });
  const store = new SignedStore('goog', now);
  const app = createRoutes({
    engine,
    wallet,
    workflows: options.workflows ?? [DEFAULT_WORKFLOW],
    engines: options.engines ?? DEFAULT_ENGINES,
    registryPath: options.registryPath ?? 'api/service-registry/',
    userService: options.userService ?? true,
    gsOutputs: () => gsOutputs,
    store,
    presignTtlSeconds: options.presignTtlSeconds ?? 3600,
    defaultPageSize: options.defaultPageSize ?? 20,
    faults,
    now,
    random,
  });
  const snapshots = options.persistRuns ? createRunSnapshots<DnaRun>(options.workDir, 'dnastack') : null;
  let server: RunningServer | null = null;
  let saver: NodeJS.Timeout | null = null;
  const save = (): Promise<void> => snapshots?.save(engine.runs.values()).catch(() => undefined) ?? Promise.resolve();

  return {
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
    serviceUrls,
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
    setGsOutputs(on) {
      gsOutputs = on;
    },
    setCompleteWithErrors(on) {
      completeWithErrors = on;
    },
    revokeTokens: () => wallet.revokeAll(),
    tokensIssued: () => wallet.issued,
    completeCancellations: () => engine.completeCancellations(),
    getRun: (runId) => engine.runs.get(runId),
    runs: () => [...engine.runs.values()],
  };
}
