/**
 * DNAstack adapter behaviour beyond the contract: the token's life (one per expiry, renewed
 * early, re-fetched once after revocation), discovery and its fallbacks, the namespace, the
 * extra states, outputs by reference, and never following a page link away from eWES.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Panel, RemoteJob, SubmitRequest } from '../types';
import { TERMINAL_STATES } from '../types';
import { writeSyntheticCohort } from '../vcf/synth';
import { startInputServer, type InputServer } from '../contract/input-server';
import { json, rejection, ScriptedServer } from '../http/scripted-server.test-helper';
import { createDnastackAdapter, type DnastackAdapterOptions } from './index';
import { createDnastackSimulator, FAST_DNASTACK_TIMING, type DnastackSimulator } from './simulator/index';

const PANELS: Panel[] = [{ key: '1000g-phase-3-v5', id: '1000g-phase-3-v5', version: null, label: '1000G', build: 'hg19', populations: [{ id: 'eur', label: 'EUR' }] }];
const CLIENT = { clientId: 'broker', clientSecret: 'the-client-secret-0123456789', namespace: 'ns-9' };

let dir = '';
let inputs: InputServer;
let clock = Date.parse('2025-10-16T10:00:00Z');
let sim: DnastackSimulator;
let base = '';
const scripted = new ScriptedServer();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dna-adapter-'));
  inputs = await startInputServer();
  sim = createDnastackSimulator({ workDir: join(dir, 'sim'), clients: [CLIENT], timing: FAST_DNASTACK_TIMING, tokenLifetimeSeconds: 100, now: () => clock, defaultPageSize: 1 });
  base = await sim.start();
  await scripted.start();
});
afterAll(async () => {
  await sim.close();
  await inputs.close();
  await scripted.close();
  await rm(dir, { recursive: true, force: true });
});

function adapter(overrides: Partial<DnastackAdapterOptions> = {}) {
  return createDnastackAdapter({
    registryUrl: base,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    workflowId: 'wf_8d2b1c',
    workflowVersionId: 'v1_0_3',
    panels: PANELS,
    allowPrivateOutputUrls: true,
    timeoutMs: 5_000,
    now: () => clock,
    ...overrides,
  });
}

async function request(): Promise<SubmitRequest> {
  const files = await writeSyntheticCohort(join(dir, `c-${randomUUID()}`), { build: 'hg19', chromosomes: ['20'], samples: 22, variantsPerChromosome: 200, seed: 3 });
  const f = files[0]!;
  return {
    runId: `run-${randomUUID()}`,
    password: 'abc123',
    params: { refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19', phasing: 'eagle', r2Filter: '0', mode: 'imputation' },
    files: [{ name: 'chr20.vcf.gz', path: f.path, size: (await stat(f.path)).size, url: (await inputs.add(f.path, 'chr20.vcf.gz')).url }],
  };
}

async function finished(a: ReturnType<typeof adapter>, id: string): Promise<RemoteJob> {
  for (let i = 0; i < 600; i++) {
    const job = await a.getJob(id);
    if (TERMINAL_STATES.has(job.state)) return job;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('run did not finish');
}

describe('the access token', () => {
  it('is fetched once for many calls, renewed shortly before it expires, and once after a revocation', async () => {
    const a = adapter();
    await a.discover();
    const id = await a.submit(await request());
    await finished(a, id);
    expect(a.tokensFetched).toBe(1);
    clock += 89_000; // 100 s tokens are renewed 10 s early
    await a.getJob(id);
    expect(a.tokensFetched).toBe(1);
    clock += 2_000;
    await a.getJob(id);
    expect(a.tokensFetched).toBe(2);
    sim.revokeTokens();
    expect((await a.getJob(id)).state).toBe('COMPLETE');
    expect(a.tokensFetched).toBe(3);
  });

  it('concurrent calls share one token request', async () => {
    const before = sim.tokensIssued();
    const a = adapter();
    await Promise.all(Array.from({ length: 8 }, () => a.health()));
    expect(sim.tokensIssued() - before).toBe(1);
  });

  it('a wrong secret is auth, and neither secret appears in the message', async () => {
    const error = await rejection(adapter({ clientSecret: 'a-wrong-secret-0123' }).getJob('x'));
    expect(error.kind).toBe('auth');
    expect(error.message).toContain('invalid_client');
    expect(error.message).not.toContain('a-wrong-secret-0123');
  });

  it('a wallet that echoes the secret still never shows it', async () => {
    scripted.handler = (req, res) => json(res, 400, { error: 'invalid_request', error_description: `bad body ${req.body.toString()}` });
    const error = await rejection(
      adapter({ registryUrl: undefined, ewesUrl: `${scripted.url}/ewes/`, tokenUrl: `${scripted.url}/token`, namespace: 'ns-9' }).getJob('x'),
    );
    expect(error.kind).toBe('auth');
    expect(error.message).not.toContain(CLIENT.clientSecret);
  });
});

describe('discovery and namespace', () => {
  it('uses configured URLs when the registry cannot be reached', async () => {
    const a = adapter({
      registryUrl: 'http://127.0.0.1:9/',
      ewesUrl: `${base}/services/ewes-service/`,
      tokenUrl: `${base}/wallet/oauth/token`,
      namespace: CLIENT.namespace,
    });
    expect((await a.health()).ok).toBe(true);
  });

  it('takes the namespace from the token when there is no user service', async () => {
    const noUsers = createDnastackSimulator({ workDir: join(dir, 'nousers'), clients: [CLIENT], timing: FAST_DNASTACK_TIMING, userService: false });
    const url = await noUsers.start();
    try {
      const health = await adapter({ registryUrl: url, now: Date.now }).health();
      expect(health).toMatchObject({ ok: true });
      expect(health.detail).toContain('namespace ns-9');
    } finally {
      await noUsers.close();
    }
  });

  it('refuses at discovery a workflow or engine the namespace does not have', async () => {
    expect((await rejection(adapter({ workflowVersionId: 'v9' }).discover())).kind).toBe('rejected');
    expect((await rejection(adapter({ engineId: 'no-such-engine' }).discover())).message).toContain('Engine no-such-engine not found');
    expect((await adapter({ engineId: 'cromwell-aws-1' }).discover()).appVersion).toBe('1.0.3');
  });
});

describe('runs', () => {
  it('COMPLETE_WITH_ERRORS is EXECUTOR_ERROR whose outputs still come home', async () => {
    sim.setCompleteWithErrors(true);
    try {
      const a = adapter();
      const job = await finished(a, await a.submit(await request()));
      expect(job).toMatchObject({ state: 'EXECUTOR_ERROR', rawState: 'COMPLETE_WITH_ERRORS' });
      expect(job.errors.join('\n')).toMatch(/failed to delocalize statistics\//);
      expect(job.outputs.some((o) => o.name === 'chr20.dose.vcf.gz' && !o.reference)).toBe(true);
    } finally {
      sim.setCompleteWithErrors(false);
    }
  });

  it('gs:// outputs are references the broker must register; download refuses them', async () => {
    sim.setGsOutputs(true);
    try {
      const a = adapter();
      const job = await finished(a, await a.submit(await request()));
      expect(job.state).toBe('COMPLETE');
      expect(job.outputs.length).toBeGreaterThan(0);
      for (const o of job.outputs) expect(o.reference).toMatchObject({ type: 'gs', url: expect.stringMatching(/^gs:\/\/sim-bucket\/ns-9\//) });
      const first = job.outputs[0]!;
      expect((await rejection(a.download(first))).kind).toBe('rejected');
    } finally {
      sim.setGsOutputs(false);
    }
  });

  it('PREPROCESSING_ERROR is SYSTEM_ERROR with eWES’s reason; events of unknown types are kept', async () => {
    const a = adapter();
    const req = await request();
    const job = await finished(a, await a.submit({ ...req, files: [{ ...req.files[0]!, url: 'gs://elsewhere/chr20.vcf.gz' }] }));
    expect(job).toMatchObject({ state: 'SYSTEM_ERROR', rawState: 'PREPROCESSING_ERROR' });
    expect(job.errors[0]).toContain('is not in a storage account of namespace ns-9');
    const ok = await finished(a, await a.submit(await request()));
    expect(ok.events?.map((e) => e.type)).toEqual(expect.arrayContaining(['SAMPLES_UPDATED', 'HOOK_EXECUTED']));
    expect(ok.events?.find((e) => e.type === 'STATE_TRANSITION')?.message).toBe('Workflow state changed: QUEUED → PREPROCESSING');
    expect(ok.submittedAt?.getTime()).toBe(clock - (clock % 1000));
  });

  it('finds a run by following next_page_url across pages of one', async () => {
    const a = adapter();
    const req = await request();
    const id = await a.submit(req);
    await a.submit(await request());
    expect(await a.findByRunId(req.runId)).toBe(id);
    expect(await a.findByRunId('run-none')).toBeNull();
  });

  it('does not follow a page link away from eWES with its token', async () => {
    scripted.handler = (req, res) => {
      if (req.url === '/token') return json(res, 200, { access_token: 'scripted-token', token_type: 'Bearer', expires_in: 3600 });
      return json(res, 200, { runs: [], pagination: { next_page_url: 'http://169.254.169.254/steal', total_elements: 9 } });
    };
    const a = adapter({ registryUrl: undefined, ewesUrl: `${scripted.url}/ewes/`, tokenUrl: `${scripted.url}/token`, namespace: 'ns-9' });
    const error = await rejection(a.findByRunId('run-1'));
    expect(error.kind).toBe('rejected');
    expect(error.message).toContain('points away from eWES');
  });

  it('a token thrown away after a 401 is still redacted when a service echoes it', async () => {
    let issued = 0;
    let calls = 0;
    scripted.handler = (req, res) => {
      if (req.url === '/token') return json(res, 200, { access_token: `tok-number-${++issued}-abcdef`, token_type: 'Bearer', expires_in: 3600 });
      calls++;
      if (calls === 1) return json(res, 401, {});
      return json(res, 400, { msg: 'refused: tok-number-1-abcdef then tok-number-2-abcdef' });
    };
    const error = await rejection(adapter({ registryUrl: undefined, ewesUrl: `${scripted.url}/ewes/`, tokenUrl: `${scripted.url}/token`, namespace: 'n' }).getJob('r'));
    expect(error.kind).toBe('rejected');
    expect(error.message).toContain('refused: [redacted] then [redacted]');
  });

  it('a token answer without expires_in is no token', async () => {
    scripted.handler = (_req, res) => json(res, 200, { access_token: 'x', token_type: 'Bearer' });
    const error = await rejection(adapter({ registryUrl: undefined, ewesUrl: `${scripted.url}/ewes/`, tokenUrl: `${scripted.url}/token`, namespace: 'n' }).getJob('r'));
    expect(error.kind).toBe('unreachable');
  });
});
