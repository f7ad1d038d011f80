/**
 * The demo federation of the embedded default, four simulators on loopback: two Cloudgene 3
 * servers (one set up like Michigan Imputation Server 2, one like AfriGen-D), a WESkit node like
 * the eLwazi/ILIFU ones, and a DNAstack Workbench. They are simulators, labelled so everywhere;
 * real services are configured in CONFIG_FILE instead. Each is described by the same backend
 * configuration a real one would have, so the broker builds its adapter the one way it always does.
 */
import { join } from 'node:path';
import { createCloudgeneSimulator } from '@ibroker/adapters/cloudgene/simulator/index';
import { startDemoDnastack } from '@ibroker/adapters/dnastack/simulator/demo';
import { DEFAULT_PANELS } from '@ibroker/adapters/wes/simulator/index';
import { startDemoWesNode } from '@ibroker/adapters/wes/simulator/demo';
import type { BackendConfig } from '../config';

export interface DemoFederation {
  backends: BackendConfig[];
  close(): Promise<void>;
}

const DEMO_USER = { username: 'broker', password: 'broker-demo-password', fullName: 'Imputation broker (demo)', mail: 'broker@localhost' };
const PANELS = DEFAULT_PANELS.map((p) => ({ id: p.id, label: p.label, build: p.build, populations: [...p.populations] }));

export async function startDemoFederation(dataDir: string): Promise<DemoFederation> {
  const closers: (() => Promise<void>)[] = [];
  const backends: BackendConfig[] = [];
  const specs = [
    { id: 'mis2-demo', profile: 'mis2' as const, name: 'Michigan Imputation Server 2 (local simulator)', location: 'loopback (simulates Ann Arbor, US)' },
    { id: 'afrigen-demo', profile: 'afrigen' as const, name: 'AfriGen-D Imputation Service (local simulator)', location: 'loopback (simulates Cape Town, ZA)' },
  ];
  try {
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
      closers.push(() => sim.close());
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
    const node = await startDemoWesNode(dataDir);
    closers.push(node.close);
    const o = node.adapterOptions;
    backends.push({
      id: node.id,
      kind: 'wes',
      name: node.name,
      url: node.url,
      ...(o.token ? { token: o.token } : {}),
      flavor: 'weskit',
      ...(o.workflowUrl ? { workflowUrl: o.workflowUrl } : {}),
      ...(o.workflowType ? { workflowType: o.workflowType } : {}),
      ...(o.workflowTypeVersion ? { workflowTypeVersion: o.workflowTypeVersion } : {}),
      ...(o.tags ? { tags: o.tags } : {}),
      inputMode: o.inputMode ?? 'attachment',
      panels: PANELS,
      maxConcurrentJobs: node.maxConcurrentJobs,
      pollIntervalMs: node.pollIntervalMs,
      maxPollIntervalMs: node.maxPollIntervalMs,
      retentionDays: node.retentionDays,
      location: node.location,
      demo: true,
    });
    const workbench = await startDemoDnastack(dataDir);
    closers.push(workbench.close);
    const d = workbench.adapterOptions;
    backends.push({
      id: workbench.id,
      kind: 'dnastack',
      name: workbench.name,
      url: workbench.url,
      token: d.clientSecret,
      clientId: d.clientId,
      workflowId: d.workflowId,
      workflowVersionId: d.workflowVersionId,
      ...(d.engineId ? { engineId: d.engineId } : {}),
      panels: PANELS,
      maxConcurrentJobs: workbench.maxConcurrentJobs,
      pollIntervalMs: workbench.pollIntervalMs,
      maxPollIntervalMs: workbench.maxPollIntervalMs,
      retentionDays: workbench.retentionDays,
      location: workbench.location,
      demo: true,
    });
  } catch (err) {
    await Promise.all(closers.map((c) => c().catch(() => undefined)));
    throw err;
  }
  return {
    backends,
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
