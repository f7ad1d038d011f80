/**
 * A real broker for tests: fresh database, real HTTP on loopback, the dev OIDC provider, and
 * Cloudgene simulators with fast timings. Nothing is stubbed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCloudgeneSimulator } from '@ibroker/adapters/cloudgene/simulator/index';
import type { DestinationStream } from 'pino';
import type { Backend } from '../backends/registry';
import { buildBackends } from '../backends/build';
import { loadConfig, type BackendConfig } from '../config';
import { createLogger } from '../logging';
import { startBroker, type BrokerHandle, type StartOptions } from '../server';
import { fetchDevToken } from '../dev/oidc';
import { createTestDatabase, testRedisUrl } from './db';

export type Simulator = ReturnType<typeof createCloudgeneSimulator>;

export interface TestBroker {
  broker: BrokerHandle;
  url: string;
  sims: Record<string, Simulator>;
  dataDir: string;
  /** A fresh access token of a demo client (`demo-cli` by default). */
  token(client?: 'demo-cli' | 'demo-cli-2'): Promise<string>;
  /** Restart the broker process part (same database, same simulators): recovery tests. */
  restart(): Promise<void>;
  /** Restart with some environment changed (e.g. the worker switched on). */
  restartWith(env: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

const FAST_TIMING = { queue: 50, validation: 150, qc: 150, phasing: 200, imputation: 300, compression: 100, export: 100 };

export interface TestBrokerOptions {
  profiles?: {
    id: string;
    profile: 'mis2' | 'afrigen';
    maxRunningJobsPerUser?: number;
    maxConcurrentJobs?: number;
    credentials?: 'service' | 'user' | 'user_then_service';
    /** More accounts on the simulated server, e.g. a user who brings their own token. */
    extraUsers?: string[];
  }[];
  timing?: Partial<typeof FAST_TIMING>;
  env?: Record<string, string>;
  sweepGraceMs?: number;
  sweepEveryMs?: number;
  /** Where the broker's JSON log lines go (tests reading the logs); stdout by default. */
  logDestination?: DestinationStream;
  /** More backends (WES nodes, DNAstack) whose simulators the test started itself. */
  backends?: BackendConfig[];
  /** Serve the built portal at `/` (the portal's browser tests); see StartOptions.portal. */
  portal?: boolean | string;
  /** The health monitor's clock and start (e.g. `{ autoStart: false, now }` to drive it by hand). */
  health?: StartOptions['health'];
}

export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'ibroker-test-'));
  const profiles = options.profiles ?? [
    { id: 'mis2', profile: 'mis2' as const },
    { id: 'afrigen', profile: 'afrigen' as const },
  ];
  const sims: Record<string, Simulator> = {};
  const configs: BackendConfig[] = [];
  for (const p of profiles) {
    const sim = createCloudgeneSimulator({
      profile: p.profile,
      workDir: join(dataDir, 'sim', p.id),
      users: [{ username: 'broker', password: 'pw' }, ...(p.extraUsers ?? []).map((u) => ({ username: u, password: 'pw' }))],
      maxRunningJobsPerUser: p.maxRunningJobsPerUser ?? 2,
      timing: { ...FAST_TIMING, ...options.timing },
    });
    const url = await sim.start(0, '127.0.0.1');
    sims[p.id] = sim;
    configs.push({
      id: p.id,
      kind: 'cloudgene',
      name: `${p.profile} simulator`,
      url,
      token: await sim.createApiToken('broker'),
      appId: 'imputationserver2',
      maxConcurrentJobs: p.maxConcurrentJobs ?? 2,
      pollIntervalMs: 200,
      maxPollIntervalMs: 2_000,
      retentionDays: 7,
      demo: true,
      ...(p.credentials ? { credentials: p.credentials } : {}),
    });
  }
  const redisUrl = testRedisUrl();
  const baseEnv = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    DEMO: 'true',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...options.env,
  };
  let config = loadConfig(baseEnv);
  let extraEnv: Record<string, string> = {};
  configs.push(...(options.backends ?? []));
  const backends = (): Backend[] => buildBackends(configs, { timeoutMs: 5_000 });
  const queueName = `runs-${db.url.split('/').pop()}`;
  const start = () =>
    startBroker({
      config,
      log: createLogger(config.logLevel, options.logDestination),
      backends: backends(),
      allowPrivateInputUrls: true,
      queueName,
      sweepEveryMs: options.sweepEveryMs ?? 1_000,
      sweepGraceMs: options.sweepGraceMs ?? 2_000,
      ...(options.portal ? { portal: options.portal } : {}),
      ...(options.health ? { health: options.health } : {}),
    });
  let broker = await start();
  await broker.deps.registry.refreshAll();

  const handle: TestBroker = {
    get broker() {
      return broker;
    },
    get url() {
      return broker.url;
    },
    sims,
    dataDir,
    token(client = 'demo-cli') {
      return fetchDevToken(broker.devOidc!.tokenEndpoint, client);
    },
    async restart() {
      // Same port, so the same issuer URL: owners (issuer + subject) survive the restart.
      const port = String(broker.port);
      await broker.close();
      config = loadConfig({ ...baseEnv, ...extraEnv, PORT: port, PUBLIC_URL: `http://127.0.0.1:${port}` });
      broker = await start();
      await broker.deps.registry.refreshAll();
    },
    async restartWith(env) {
      extraEnv = { ...extraEnv, ...env };
      await handle.restart();
    },
    async close() {
      await broker.close();
      await Promise.all(Object.values(sims).map((s) => s.close()));
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
