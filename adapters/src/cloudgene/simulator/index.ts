/**
 * A faithful Cloudgene 3 server (MIS 2 / TOPMed / AfriGen-D) on loopback, for adapter tests and
 * the embedded demo. See shared/backends/README.md §1–3 for the behaviour it reproduces.
 *
 *   const sim = createCloudgeneSimulator({ profile: 'mis2', workDir, users: [{ username: 'jdoe', password: 'pw' }] });
 *   const base = await sim.start();            // http://127.0.0.1:<port>
 *   const token = await sim.createApiToken('jdoe');
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { randomBytes } from 'node:crypto';
import { AuthService } from './auth';
import { createJobSnapshots } from './persistence';
import { JobEngine } from './jobs';
import { getProfile, type Profile } from './profiles';
import { createRoutes, type SimulatorEnv } from './routes';
import { DownloadRegistry } from './workspace';
import type { Faults, Job, SimulatorOptions, Timing } from './types';

export type { SimulatorOptions, SimUser, Timing, Faults, ProfileName } from './types';
export { JobState } from './types';

export const DEFAULT_TIMING: Timing = {
  queue: 500,
  validation: 2000,
  qc: 2500,
  phasing: 2000,
  imputation: 3000,
  compression: 1500,
  export: 1000,
};

/** Everything at zero: jobs finish as fast as the real work allows (tests). */
export const FAST_TIMING: Timing = { queue: 0, validation: 0, qc: 0, phasing: 0, imputation: 0, compression: 0, export: 0 };

export interface CloudgeneSimulator {
  app: Hono<SimulatorEnv>;
  profile: Profile;
  start(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  setFaults(faults: Partial<Faults>): void;
  setMaintenance(on: boolean): void;
  /** As after a server restart: every waiting/running job becomes DEAD (-1). Returns their ids. */
  killRunningJobs(): string[];
  /** Ends retention now: SUCCESS → 7 RETIRED (FAILED/CANCELED → 9), files deleted. */
  retire(jobId: string): Promise<void>;
  /** What "Create API Token" in the web UI does; supersedes the user's previous API token. */
  createApiToken(username: string, opts?: { expirationDays?: number }): Promise<string>;
  /** A 24 h login token, as `POST /login` returns. */
  login(username: string): Promise<string>;
  getJob(jobId: string): Job | undefined;
}

export function createCloudgeneSimulator(options: SimulatorOptions): CloudgeneSimulator {
  const profile = getProfile(options.profile ?? 'mis2');
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  let faults: Faults = {
    latencyMs: options.latencyMs ?? 0,
    errorRate: options.errorRate ?? 0,
    dropRate: options.dropRate ?? 0,
  };
  let maintenance = options.maintenance ?? false;
  const auth = new AuthService(options.users, options.jwtSecret ?? randomBytes(32).toString('hex'), now);
  const registry = new DownloadRegistry(options.maxDownloads ?? 10);
  const engine = new JobEngine({
    profile,
    workDir: options.workDir,
    timing: { ...DEFAULT_TIMING, ...options.timing },
    serverConcurrency: options.serverConcurrency ?? 4,
    retentionMs: options.retentionMs ?? 7 * 86400_000,
    registry,
    now,
    sendMail: options.sendMail ?? false,
    mailOf: (u) => auth.getUser(u)?.mail ?? '',
  });
  const app = createRoutes({
    profile,
    auth,
    engine,
    registry,
    workDir: options.workDir,
    maxRunningJobsPerUser: options.maxRunningJobsPerUser ?? 2,
    now,
    random,
    faults: () => faults,
    maintenance: () => maintenance,
  });
  let server: ServerType | null = null;
  const snapshots = options.persistJobs ? createJobSnapshots(options.workDir) : null;
  let saver: NodeJS.Timeout | null = null;
  const save = () => snapshots?.save(engine.jobs.values(), registry.snapshot()).catch(() => undefined) ?? Promise.resolve();

  return {
    app,
    profile,
    async start(port = 0, host = '127.0.0.1') {
      await mkdir(options.workDir, { recursive: true });
      if (snapshots) {
        const { jobs, downloads } = snapshots.load();
        for (const job of jobs) engine.jobs.set(job.id, job);
        registry.restore(downloads);
        // What a server restart does to every unfinished job.
        engine.killRunning();
        saver = setInterval(() => void save(), 1_000);
        saver.unref();
      }
      const s = await new Promise<ServerType>((resolve) => {
        const srv = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(srv));
      });
      server = s;
      const addr = s.address() as AddressInfo;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return `http://${shownHost}:${addr.port}`;
    },
    async close() {
      if (saver) clearInterval(saver);
      await engine.close();
      await save();
      const s = server;
      server = null;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        if ('closeAllConnections' in s && typeof s.closeAllConnections === 'function') s.closeAllConnections();
      });
    },
    setFaults(next) {
      faults = { ...faults, ...next };
    },
    setMaintenance(on) {
      maintenance = on;
    },
    killRunningJobs: () => engine.killRunning(),
    async retire(jobId) {
      const job = engine.jobs.get(jobId);
      if (!job) throw new Error(`Job ${jobId} not found.`);
      await engine.retire(job);
    },
    createApiToken: (username, opts) => auth.createApiToken(username, opts?.expirationDays),
    async login(username) {
      const user = auth.getUser(username);
      if (!user) throw new Error(`unknown user ${username}`);
      const result = await auth.login(username, user.password);
      if (!result.ok) throw new Error(result.message);
      return String(result.body.access_token);
    },
    getJob: (jobId) => engine.jobs.get(jobId),
  };
}
