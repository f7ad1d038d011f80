/**
 * The demo federation of the embedded default: two Cloudgene 3 simulators on loopback, one set
 * up like Michigan Imputation Server 2 and one like AfriGen-D. They are simulators, labelled so
 * everywhere; real services are configured in CONFIG_FILE instead.
 */
import { join } from 'node:path';
import { createCloudgeneSimulator } from '@ibroker/adapters/cloudgene/simulator/index';
import type { BackendConfig } from '../config';

export interface DemoFederation {
  backends: BackendConfig[];
  close(): Promise<void>;
}

const DEMO_USER = { username: 'broker', password: 'broker-demo-password', fullName: 'Imputation broker (demo)', mail: 'broker@localhost' };

export async function startDemoFederation(dataDir: string): Promise<DemoFederation> {
  const specs = [
    { id: 'mis2-demo', profile: 'mis2' as const, name: 'Michigan Imputation Server 2 (local simulator)', location: 'loopback (simulates Ann Arbor, US)' },
    { id: 'afrigen-demo', profile: 'afrigen' as const, name: 'AfriGen-D Imputation Service (local simulator)', location: 'loopback (simulates Cape Town, ZA)' },
  ];
  const sims: { close(): Promise<void> }[] = [];
  const backends: BackendConfig[] = [];
  for (const spec of specs) {
    const sim = createCloudgeneSimulator({
      profile: spec.profile,
      workDir: join(dataDir, 'simulators', spec.id),
      users: [DEMO_USER],
      maxRunningJobsPerUser: 2,
      // Restarting `npm start` then behaves like restarting a real Cloudgene server.
      persistJobs: true,
    });
    const url = await sim.start(0, '127.0.0.1');
    sims.push(sim);
    backends.push({
      id: spec.id,
      kind: 'cloudgene',
      name: spec.name,
      url,
      token: await sim.createApiToken(DEMO_USER.username),
      appId: 'imputationserver2',
      maxConcurrentJobs: 2,
      pollIntervalMs: 1_000,
      maxPollIntervalMs: 30_000,
      retentionDays: 7,
      location: spec.location,
      demo: true,
    });
  }
  return {
    backends,
    close: async () => {
      await Promise.all(sims.map((s) => s.close()));
    },
  };
}
