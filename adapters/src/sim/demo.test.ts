/** The demo helpers start simulators the adapters accept, with what the broker's demo federation needs. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnastackAdapter } from '../dnastack/index';
import { startDemoDnastack } from '../dnastack/simulator/demo';
import { createWesAdapter } from '../wes/index';
import { startDemoWesNode } from '../wes/simulator/demo';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('demo backends', () => {
  it('a WESkit node: healthy, its panels discovered, labelled demo, its runs kept on disk', async () => {
    const node = await startDemoWesNode(dir);
    try {
      expect(node).toMatchObject({ id: 'elwazi-wes-demo', kind: 'wes', demo: true });
      expect(node.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ga4gh\/wes\/v1$/);
      const adapter = createWesAdapter(node.adapterOptions);
      expect((await adapter.health()).ok).toBe(true);
      expect((await adapter.discover()).panels.map((p) => p.key)).toEqual(['1000g-phase-3-v5', 'h3africa-v6hc-s']);
    } finally {
      await node.close();
    }
  });

  it('a DNAstack Workbench: discovered from its registry, authenticated, healthy', async () => {
    const workbench = await startDemoDnastack(dir);
    try {
      expect(workbench).toMatchObject({ id: 'dnastack-demo', kind: 'dnastack', demo: true });
      const adapter = createDnastackAdapter(workbench.adapterOptions);
      const health = await adapter.health();
      expect(health).toMatchObject({ ok: true });
      expect(health.detail).toContain('namespace demo-namespace');
      expect((await adapter.discover()).appId).toBe('wf_8d2b1c/v1_0_3');
    } finally {
      await workbench.close();
    }
  });
});
