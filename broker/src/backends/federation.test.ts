/**
 * Beyond Cloudgene: runs through a GA4GH WES node (fetching its inputs by the broker's signed
 * links) and DNAstack Workbench (JSON submission, OAuth2 client credentials, no upload), on their
 * simulators over real HTTP. Results come home as DRS objects; results the backend keeps in its
 * own bucket are registered by reference.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrsObject, RunLog } from '@ibroker/api-spec/index';
import { createDnastackSimulator, DEFAULT_WORKFLOW, FAST_DNASTACK_TIMING, type DnastackSimulator } from '@ibroker/adapters/dnastack/simulator/index';
import { createWesSimulator, DEFAULT_PANELS, FAST_WES_TIMING, STANDARD_WORKFLOW, type WesSimulator } from '@ibroker/adapters/wes/simulator/index';
import type { BackendConfig } from '../config';
import { callerTag } from '../drs/links';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit, terminal, waitForState } from '../testing/wes-client';

const hg19 = join(import.meta.dirname, '../../../demo/data/hg19/chr20.vcf.gz');
const hg38 = join(import.meta.dirname, '../../../demo/data/hg38/chr20.vcf.gz');
const panels = DEFAULT_PANELS.map((p) => ({ id: p.id, label: p.label, build: p.build, populations: [...p.populations] }));
const dir = mkdtempSync(join(tmpdir(), 'ibroker-federation-'));

let tb: TestBroker;
let token: string;
let node: WesSimulator;
let workbench: DnastackSimulator;

interface OutputEntry {
  name: string;
  size?: number;
  sha256?: string;
  drs_uri?: string;
  reference?: { url: string; type: string };
}

beforeAll(async () => {
  node = createWesSimulator({ flavor: 'standard', workDir: join(dir, 'wes'), tokens: { 'node-token': 'broker' }, timing: FAST_WES_TIMING, workflows: [STANDARD_WORKFLOW] });
  const nodeUrl = `${await node.start(0, '127.0.0.1')}/ga4gh/wes/v1`;
  const client = { clientId: 'broker-client', clientSecret: 'broker-client-secret', namespace: 'ns-test', email: 'broker@localhost' };
  workbench = createDnastackSimulator({ workDir: join(dir, 'dnastack'), clients: [client], timing: FAST_DNASTACK_TIMING });
  const workbenchUrl = await workbench.start(0, '127.0.0.1');
  const common = { maxConcurrentJobs: 2, pollIntervalMs: 200, maxPollIntervalMs: 2_000, retentionDays: 7, demo: true } as const;
  const backends: BackendConfig[] = [
    {
      ...common,
      id: 'wes-node',
      kind: 'wes',
      name: 'WES 1.1 node (simulator)',
      url: nodeUrl,
      token: 'node-token',
      flavor: 'standard',
      workflowUrl: STANDARD_WORKFLOW,
      workflowType: 'NFL',
      workflowTypeVersion: 'DSL2',
      inputMode: 'https',
      panels,
    },
    {
      ...common,
      id: 'workbench',
      kind: 'dnastack',
      name: 'DNAstack Workbench (simulator)',
      url: workbenchUrl,
      token: client.clientSecret,
      clientId: client.clientId,
      workflowId: DEFAULT_WORKFLOW.id,
      workflowVersionId: DEFAULT_WORKFLOW.versionId,
      panels,
    },
  ];
  tb = await startTestBroker({ profiles: [], backends });
  token = await tb.token();
}, 120_000);
afterAll(async () => {
  await tb?.close();
  await node?.close();
  await workbench?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(params: Record<string, unknown>, file: string): Promise<RunLog> {
  const res = await submit(tb.url, token, { files: [file], params });
  expect(res.status).toBe(200);
  const { run_id } = (await res.json()) as { run_id: string };
  return waitForState(tb.url, token, run_id, terminal, 90_000);
}

async function checkDrsBytes(log: RunLog): Promise<string[]> {
  const files = (log.outputs as { files: OutputEntry[] }).files.filter((f) => f.drs_uri);
  for (const f of files) {
    const o = (await (await fetch(`${tb.url}/ga4gh/drs/v1/objects/${f.drs_uri!.split('/').pop()}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as DrsObject;
    const res = await fetch(o.access_methods![0]!.access_url!.url, { headers: { Authorization: `Bearer ${token}` } });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(o.checksums.find((c) => c.type === 'sha-256')!.checksum);
  }
  return files.map((f) => f.name);
}

describe('a GA4GH WES node as a backend', () => {
  it('runs the cohort, the node fetching its input by a signed link issued to the backend, and brings the results home', async () => {
    const log = await run({ refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19', backend: 'wes-node' }, hg19);
    expect(log.state).toBe('COMPLETE');
    expect(log.run_log?.system_logs?.join('\n')).toContain('Submitted to wes-node');
    const names = await checkDrsBytes(log);
    expect(names.some((n) => n.endsWith('chr20.dose.vcf.gz'))).toBe(true);
    const fetched = (await tb.broker.deps.ds.query(
      `SELECT details->>'issued_to' AS issued_to, details->>'via' AS via FROM audit_events WHERE action = 'object.downloaded' AND details->>'via' = 'signed_link' AND details->>'run' = $1`,
      [log.run_id],
    )) as { issued_to: string; via: string }[];
    expect(fetched).toEqual([{ issued_to: callerTag('backend:wes-node'), via: 'signed_link' }]);
  });
});

describe('DNAstack Workbench as a backend', () => {
  it('runs a registered workflow by JSON with client credentials, inputs by signed link, results home', async () => {
    const log = await run({ refpanel: 'h3africa-v6hc-s', population: 'afr', build: 'hg38', backend: 'workbench' }, hg38);
    expect(log.state).toBe('COMPLETE');
    expect(await checkDrsBytes(log)).toContain('chr20.dose.vcf.gz');
  });

  it('results left in a bucket the broker cannot read are registered by reference, not fetched, and the run completes', async () => {
    workbench.setGsOutputs(true);
    try {
      const log = await run({ refpanel: 'h3africa-v6hc-s', population: 'afr', build: 'hg38', backend: 'workbench' }, hg38);
      expect(log.state).toBe('COMPLETE');
      const files = (log.outputs as { files: OutputEntry[] }).files;
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        expect(f.reference).toMatchObject({ type: 'gs', url: expect.stringMatching(/^gs:\/\//) });
        // No checksum stated, so no DRS object (DRS requires one).
        expect(f.drs_uri).toBeUndefined();
      }
      const rows = (await tb.broker.deps.ds.query(`SELECT blob_key, reference_url FROM objects WHERE run_id = $1 AND role = 'output'`, [log.run_id])) as {
        blob_key: string | null;
        reference_url: string | null;
      }[];
      expect(rows.every((r) => r.blob_key === null && r.reference_url?.startsWith('gs://'))).toBe(true);
    } finally {
      workbench.setGsOutputs(false);
    }
  });
});

describe('the catalog of every backend kind', () => {
  it('lists the panels configured for the WES node and the Workbench workflow', async () => {
    const views = await tb.broker.deps.registry.views();
    expect(views.map((v) => [v.id, v.kind, v.catalog?.panels.map((p) => p.id).sort()])).toEqual([
      ['wes-node', 'wes', ['1000g-phase-3-v5', 'h3africa-v6hc-s']],
      ['workbench', 'dnastack', ['1000g-phase-3-v5', 'h3africa-v6hc-s']],
    ]);
  });
});
