/**
 * A WES node for the embedded demo, beside the two Cloudgene simulators: a WESkit node like the
 * eLwazi/ILIFU ones, on loopback, clearly labelled a simulator. Mirrors the broker's
 * `startDemoFederation`: start it with the data directory, get back what the broker needs.
 *
 *   const node = await startDemoWesNode(dataDir);
 *   const adapter = createWesAdapter(node.adapterOptions);
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { WesAdapterOptions } from '../index';
import { panelsOf, type DemoBackend } from '../../sim/demo';
import { createWesSimulator, DEFAULT_PANELS, DEFAULT_WES_TIMING, WESKIT_WORKFLOW, type WesSimulator } from './index';

export interface DemoWesNodeOptions {
  id?: string;
  /** Fixed port (0 = any free one). */
  port?: number;
  host?: string;
}

export type DemoWesNode = DemoBackend<'wes', WesAdapterOptions> & { sim: WesSimulator };

export async function startDemoWesNode(dataDir: string, options: DemoWesNodeOptions = {}): Promise<DemoWesNode> {
  const id = options.id ?? 'elwazi-wes-demo';
  // A fresh token per start: the broker builds its adapter from what this returns.
  const token = randomBytes(24).toString('base64url');
  const sim = createWesSimulator({
    flavor: 'weskit',
    workDir: join(dataDir, 'simulators', id),
    tokens: { [token]: 'broker' },
    requireRunDir: true,
    maxConcurrentRuns: 2,
    timing: DEFAULT_WES_TIMING,
    // Restarting `npm start` then behaves like restarting the node.
    persistRuns: true,
  });
  const root = await sim.start(options.port ?? 0, options.host ?? '127.0.0.1');
  const url = `${root}/ga4gh/wes/v1`;
  return {
    id,
    kind: 'wes',
    name: 'eLwazi WES node, WESkit (local simulator)',
    location: 'loopback (simulates the ILIFU node, Cape Town, ZA)',
    url,
    adapterOptions: {
      flavor: 'weskit',
      baseUrl: url,
      token,
      workflowUrl: WESKIT_WORKFLOW,
      workflowType: 'NFL',
      workflowTypeVersion: '22.10.0',
      tags: { run_dir: 'file:runs/${runId}' },
      inputMode: 'attachment',
      panels: panelsOf(DEFAULT_PANELS),
    },
    maxConcurrentJobs: 2,
    pollIntervalMs: 1_000,
    maxPollIntervalMs: 30_000,
    retentionDays: 30,
    demo: true,
    sim,
    close: () => sim.close(),
  };
}
