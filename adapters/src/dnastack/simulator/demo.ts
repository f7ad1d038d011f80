/**
 * A DNAstack Workbench for the embedded demo, beside the Cloudgene simulators: registry, wallet
 * and eWES on loopback, clearly labelled a simulator. Mirrors the broker's `startDemoFederation`.
 *
 *   const workbench = await startDemoDnastack(dataDir);
 *   const adapter = createDnastackAdapter(workbench.adapterOptions);
 *
 * eWES has no upload: runs need `InputFile.url`s the simulated engine can fetch (loopback http
 * is allowed here), as the real one needs URLs its cloud can read.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DnastackAdapterOptions } from '../index';
import { panelsOf, type DemoBackend } from '../../sim/demo';
import { DEFAULT_PANELS } from '../../wes/simulator/index';
import { createDnastackSimulator, DEFAULT_DNASTACK_TIMING, DEFAULT_WORKFLOW, type DnastackSimulator } from './index';

export interface DemoDnastackOptions {
  id?: string;
  port?: number;
  host?: string;
}

export type DemoDnastack = DemoBackend<'dnastack', DnastackAdapterOptions> & { sim: DnastackSimulator };

export async function startDemoDnastack(dataDir: string, options: DemoDnastackOptions = {}): Promise<DemoDnastack> {
  const id = options.id ?? 'dnastack-demo';
  const client = { clientId: 'imputation-broker-demo', clientSecret: randomBytes(24).toString('base64url'), namespace: 'demo-namespace', email: 'broker@localhost' };
  const sim = createDnastackSimulator({
    workDir: join(dataDir, 'simulators', id),
    clients: [client],
    timing: DEFAULT_DNASTACK_TIMING,
    persistRuns: true,
  });
  const root = await sim.start(options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    id,
    kind: 'dnastack',
    name: 'DNAstack Workbench (local simulator)',
    location: 'loopback (simulates workbench.omics.ai, Toronto, CA)',
    url: root,
    adapterOptions: {
      registryUrl: root,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      workflowId: DEFAULT_WORKFLOW.id,
      workflowVersionId: DEFAULT_WORKFLOW.versionId,
      engineId: 'cromwell-gcp-1',
      panels: panelsOf(DEFAULT_PANELS),
      // The simulated bucket is on loopback too.
      allowPrivateOutputUrls: true,
    },
    maxConcurrentJobs: 4,
    pollIntervalMs: 1_000,
    maxPollIntervalMs: 30_000,
    retentionDays: 30,
    demo: true,
    sim,
    close: () => sim.close(),
  };
}
