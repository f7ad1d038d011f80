/**
 * The adapter against the Cloudgene 3 simulator on loopback (simulator/): a real multipart
 * upload of a synthetic cohort, a real pipeline run, real downloads with their counters, and
 * the failure modes the run engine must tell apart.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCohort } from '../vcf/synth';
import { BackendError, TERMINAL_STATES, type RemoteJob, type SubmitRequest, type WesState } from '../types';
import { createCloudgeneAdapter, type CloudgeneAdapter } from './index';
import { createCloudgeneSimulator, FAST_TIMING, type CloudgeneSimulator } from './simulator/index';

const MAX_DOWNLOADS = 3;
const USERS = [
  { username: 'jdoe', password: 'secret1', fullName: 'John Doe', mail: 'jdoe@example.org' },
  { username: 'other', password: 'secret2' },
];

interface Server {
  sim: CloudgeneSimulator;
  base: string;
  token: string;
  adapter: CloudgeneAdapter;
}

let dir = '';
let fast: Server;
/** Jobs that stay in validation for a minute: room to cancel and to hit the per-user limit. */
let slow: Server;

async function startServer(name: string, options: Partial<Parameters<typeof createCloudgeneSimulator>[0]>): Promise<Server> {
  const sim = createCloudgeneSimulator({
    profile: 'mis2',
    workDir: join(dir, name),
    users: USERS,
    timing: FAST_TIMING,
    jwtSecret: `integration-secret-${name}-0123456789abcdef`,
    ...options,
  });
  const base = await sim.start();
  const token = await sim.createApiToken('jdoe');
  return { sim, base, token, adapter: createCloudgeneAdapter({ baseUrl: base, token, timeoutMs: 5000 }) };
}

async function cohortRequest(build: 'hg19' | 'hg38' = 'hg19', chromosomes = ['20']): Promise<SubmitRequest> {
  const files = await writeSyntheticCohort(join(dir, `cohort-${randomUUID()}`), {
    build,
    chromosomes,
    samples: 25,
    variantsPerChromosome: 300,
    phased: false,
    seed: 7,
  });
  return {
    runId: `run-${randomUUID()}`,
    password: 'k7RqM2xT9vBn4',
    params: { refpanel: 'apps@hapmap-2@2.0.0', population: 'eur', build: 'hg19', phasing: 'eagle', r2Filter: '0', mode: 'imputation' },
    files: await Promise.all(
      files.map(async (f) => ({ name: f.path.split('/').at(-1) ?? 'x.vcf.gz', path: f.path, size: (await stat(f.path)).size })),
    ),
  };
}

async function waitFor(adapter: CloudgeneAdapter, id: string, done: (job: RemoteJob) => boolean, timeoutMs = 30_000): Promise<RemoteJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await adapter.getJob(id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} (${job.rawState})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const terminal = (job: RemoteJob): boolean => TERMINAL_STATES.has(job.state);
const inState = (state: WesState) => (job: RemoteJob): boolean => job.state === state;

async function sha256(stream: Readable): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    hash.update(buffer);
  }
  return { hash: hash.digest('hex'), bytes };
}

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    if (error instanceof BackendError) return error.kind;
    throw error;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cg-adapter-it-'));
  fast = await startServer('fast', { maxDownloads: MAX_DOWNLOADS });
  slow = await startServer('slow', {
    maxRunningJobsPerUser: 1,
    timing: { ...FAST_TIMING, validation: 60_000 },
  });
});

afterAll(async () => {
  await fast?.sim.close();
  await slow?.sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('discovery', () => {
  it('health, catalog and token check', async () => {
    const health = await fast.adapter.health();
    expect(health).toMatchObject({ ok: true, maintenance: false });
    expect(health.detail).toContain('imputationserver2');

    const catalog = await fast.adapter.discover();
    expect(catalog.appId).toBe('imputationserver2');
    const hapmap = catalog.panels.find((p) => p.id === 'hapmap-2');
    expect(hapmap).toMatchObject({ key: 'apps@hapmap-2@2.0.0', version: '2.0.0', build: 'hg19' });
    expect(hapmap?.populations.map((p) => p.id)).toEqual(['eur', 'off']);
    expect(catalog.panels.find((p) => p.build === 'hg38')).toBeDefined();
    expect(catalog.builds).toEqual(expect.arrayContaining(['hg19', 'hg38']));
    expect(catalog.modes).toContain('imputation');

    const verdict = await fast.adapter.verifyToken();
    expect(verdict.valid).toBe(true);
    expect(verdict.expiresAt?.getTime()).toBeGreaterThan(Date.now());
  });
});

describe('a run from upload to results', () => {
  let request: SubmitRequest;
  let id = '';
  let job: RemoteJob;

  beforeAll(async () => {
    request = await cohortRequest('hg19', ['20', '21']);
    id = await fast.adapter.submit(request);
    job = await waitFor(fast.adapter, id, terminal);
  });

  it('completes, with every step complete and the outputs listed', () => {
    expect(job.state).toBe('COMPLETE');
    expect(job.name).toBe(request.runId);
    expect(job.progress).toBe(100);
    expect(job.tasks.length).toBeGreaterThan(0);
    expect(job.tasks.every((t) => t.state === 'COMPLETE')).toBe(true);
    expect(job.tasks.flatMap((t) => t.messages).every((m) => !/<[a-z]/i.test(m.text))).toBe(true);
    expect(job.errors).toEqual([]);
    const names = job.outputs.map((o) => o.name);
    expect(names).toEqual(expect.arrayContaining(['chr_20.zip', 'chr_21.zip', 'qc_report.txt']));
  });

  it('finds the job again by run id, as after a crash between submit and commit', async () => {
    expect(await fast.adapter.findByRunId(request.runId)).toBe(id);
    expect(await fast.adapter.findByRunId(`run-${randomUUID()}`)).toBeNull();
  });

  it('downloads every output once, byte for byte, spending exactly one download each', async () => {
    const onDisk = fast.sim.getJob(id)?.outputs ?? [];
    for (const output of job.outputs) {
      const got = await sha256(await fast.adapter.download(output));
      const file = onDisk.find((f) => f.name === output.name);
      expect(file, output.name).toBeDefined();
      const expected = await sha256(createReadStream(file?.absPath ?? ''));
      expect(got, output.name).toEqual(expected);
      if (output.size !== null) expect(got.bytes).toBe(output.size);
    }
    const status = (await (await fetch(`${fast.base}/api/v2/jobs/${id}/status`, { headers: { 'X-Auth-Token': fast.token } })).json()) as {
      outputParams: { name: string; files: { name: string; count: number }[] }[];
    };
    const counts = status.outputParams.find((p) => p.name === 'output')?.files.map((f) => f.count);
    expect(counts?.length).toBe(job.outputs.length);
    expect(new Set(counts)).toEqual(new Set([MAX_DOWNLOADS - 1]));
  });

  it('turns a spent download counter into `gone`', async () => {
    const output = job.outputs.find((o) => o.name === 'qc_report.txt');
    if (!output) throw new Error('no qc_report.txt');
    // One download was spent by the previous test.
    for (let i = 1; i < MAX_DOWNLOADS; i++) await sha256(await fast.adapter.download(output));
    const error = await fast.adapter.download(output).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ kind: 'gone', status: 400 });
    expect((error as Error).message).toContain('number of max downloads exceeded.');
  });

  it('reports retired results as gone', async () => {
    await fast.sim.retire(id);
    const retired = await fast.adapter.getJob(id);
    expect(retired.rawState).toBe('7');
    expect(retired.resultsGone).toBe(true);
    expect(retired.state).toBe('COMPLETE');
    const chr20 = job.outputs.find((o) => o.name === 'chr_20.zip');
    if (!chr20) throw new Error('no chr_20.zip');
    expect(await kindOf(fast.adapter.download(chr20))).toBe('gone');
  });
});

describe('failed runs', () => {
  it('a build mismatch fails in validation with Cloudgene’s message', async () => {
    const request = await cohortRequest('hg38');
    const id = await fast.adapter.submit(request);
    const job = await waitFor(fast.adapter, id, terminal);
    expect(job.state).toBe('EXECUTOR_ERROR');
    expect(job.tasks[0]?.state).toBe('EXECUTOR_ERROR');
    expect(job.errors[0]).toMatch(/not a valid hg19 encoding/);
  });

  it('an unknown panel fails with empty steps; the reason comes from the job log', async () => {
    const request = await cohortRequest();
    const id = await fast.adapter.submit({ ...request, params: { ...request.params, refpanel: 'apps@no-such-panel@1.0.0' } });
    const job = await waitFor(fast.adapter, id, terminal);
    expect(job.state).toBe('EXECUTOR_ERROR');
    expect(job.errors.join('\n')).toMatch(/no-such-panel|not installed|failed/i);
  });

  it('an unknown job is not_found', async () => {
    expect(await kindOf(fast.adapter.getJob('job-20990101-000000-000'))).toBe('not_found');
  });
});

describe('cancel and per-user limit', () => {
  it('refuses a second concurrent job as capacity, and cancels the first', async () => {
    const first = await slow.adapter.submit(await cohortRequest());
    await waitFor(slow.adapter, first, (j) => j.state === 'RUNNING' || j.state === 'QUEUED');
    const second = await cohortRequest();
    const refused = await slow.adapter.submit(second).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ kind: 'capacity', status: 400 });
    expect((refused as Error).message).toMatch(/Only 1 jobs? per user/);
    // The refused submission left nothing behind to find.
    expect(await slow.adapter.findByRunId(second.runId)).toBeNull();

    await slow.adapter.cancel(first);
    const canceled = await waitFor(slow.adapter, first, inState('CANCELED'));
    expect(canceled.rawState).toBe('6');
    // Canceling a finished job again is harmless.
    await slow.adapter.cancel(first);
  });

  it('a dead job (server restart) is SYSTEM_ERROR until restarted', async () => {
    const id = await slow.adapter.submit(await cohortRequest());
    await waitFor(slow.adapter, id, (j) => j.state === 'RUNNING' || j.state === 'QUEUED');
    expect(slow.sim.killRunningJobs()).toContain(id);
    const dead = await slow.adapter.getJob(id);
    expect(dead).toMatchObject({ state: 'SYSTEM_ERROR', rawState: '-1' });
    await slow.adapter.restart(id);
    const revived = await waitFor(slow.adapter, id, (j) => j.rawState !== '-1');
    expect(['QUEUED', 'RUNNING']).toContain(revived.state);
    await slow.adapter.cancel(id);
    await waitFor(slow.adapter, id, terminal);
  });
});

describe('backend trouble', () => {
  it('maintenance mode → maintenance, and health says so without throwing', async () => {
    fast.sim.setMaintenance(true);
    try {
      expect(await kindOf(fast.adapter.submit(await cohortRequest()))).toBe('maintenance');
      expect(await kindOf(fast.adapter.getJob('job-20990101-000000-000'))).toBe('maintenance');
      expect(await fast.adapter.health()).toMatchObject({ ok: false, maintenance: true });
    } finally {
      fast.sim.setMaintenance(false);
    }
  });

  it('a bad or superseded token → auth, never echoed', async () => {
    const bad = createCloudgeneAdapter({ baseUrl: fast.base, token: 'not-a-jwt', timeoutMs: 5000 });
    const error = await bad.discover().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ kind: 'auth' });
    expect((error as Error).message).not.toContain('not-a-jwt');
    expect((await bad.health()).ok).toBe(false);
    expect((await bad.verifyToken()).valid).toBe(false);

    const old = await fast.sim.createApiToken('other');
    await fast.sim.createApiToken('other');
    const superseded = createCloudgeneAdapter({ baseUrl: fast.base, token: old, timeoutMs: 5000 });
    const refused = await superseded.findByRunId('x').then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ kind: 'auth' });
    expect((refused as Error).message).not.toContain(old);
  });

  it('server errors and dropped connections → unreachable (retryable)', async () => {
    fast.sim.setFaults({ errorRate: 1 });
    try {
      expect(await kindOf(fast.adapter.getJob('job-x'))).toBe('unreachable');
    } finally {
      fast.sim.setFaults({ errorRate: 0 });
    }
    fast.sim.setFaults({ dropRate: 1 });
    try {
      expect(await kindOf(fast.adapter.discover())).toBe('unreachable');
      expect((await fast.adapter.health()).ok).toBe(false);
    } finally {
      fast.sim.setFaults({ dropRate: 0 });
    }
  });

  it('a server that is down → unreachable, health never throws', async () => {
    const gone = await startServer('gone', {});
    await gone.sim.close();
    expect(await kindOf(gone.adapter.getJob('job-x'))).toBe('unreachable');
    expect(await kindOf(gone.adapter.submit(await cohortRequest()))).toBe('unreachable');
    expect(await gone.adapter.health()).toMatchObject({ ok: false, maintenance: false });
  });
});
