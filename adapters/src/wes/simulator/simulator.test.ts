/**
 * The WES node simulator on the wire, with plain fetch: WESkit's exact answers (fixtures in
 * shared/backends/wes/examples), WES 1.1 paging, tasks and PREEMPTED, signed S3 results, limits,
 * fault knobs and persistence. The adapter's view of it is the contract suite's business.
 */
import { existsSync, readFileSync } from 'node:fs';
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCohort } from '../../vcf/synth';
import { createWesAdapter } from '../index';
import { createWesSimulator, FAST_WES_TIMING, STANDARD_WORKFLOW, WESKIT_WORKFLOW, type WesSimulator } from './index';
import type { WesSimulatorOptions } from './types';

const FIXTURES = resolve(__dirname, '../../../../../shared/backends/wes/examples');
const fixture = (name: string): unknown => JSON.parse(readFileSync(resolve(FIXTURES, name), 'utf8')) as unknown;
const TOKEN = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789';

let dir = '';
let vcf = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wes-sim-'));
  const files = await writeSyntheticCohort(join(dir, 'cohort'), { build: 'hg19', chromosomes: ['20'], samples: 22, variantsPerChromosome: 200, seed: 5 });
  vcf = files[0]?.path ?? '';
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

interface Node {
  sim: WesSimulator;
  base: string;
  wes: string;
}

async function node(options: Partial<WesSimulatorOptions> & { flavor: 'weskit' | 'standard' }): Promise<Node> {
  const sim = createWesSimulator({ workDir: join(dir, `sim-${Math.random().toString(36).slice(2)}`), timing: FAST_WES_TIMING, tokens: { [TOKEN]: 'alice', [BOB]: 'bob' }, ...options });
  const base = await sim.start();
  return { sim, base, wes: `${base}/ga4gh/wes/v1` };
}

function runForm(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

async function withAttachment(form: FormData, name = 'chr20.vcf.gz'): Promise<FormData> {
  form.append('workflow_attachment', await openAsBlob(vcf), name);
  return form;
}

const weskitFields = (extra: Record<string, string> = {}): Record<string, string> => ({
  workflow_url: WESKIT_WORKFLOW,
  workflow_type: 'NFL',
  workflow_type_version: '22.10.0',
  workflow_params: JSON.stringify({ files: ['chr20.vcf.gz'], refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19', phasing: 'eagle', mode: 'imputation' }),
  tags: JSON.stringify({ run_dir: 'file:runs/x', broker_run_id: 'b-1' }),
  ...extra,
});

async function post(n: Node, form: FormData, token = TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${n.wes}/runs`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(url: string, token: string | null = TOKEN): Promise<{ status: number; text: string; type: string; headers: Headers }> {
  const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '', headers: res.headers };
}

async function until(n: Node, id: string, states: string[]): Promise<Record<string, unknown>> {
  for (let i = 0; i < 600; i++) {
    const run = JSON.parse((await get(`${n.wes}/runs/${id}`)).text) as Record<string, unknown>;
    if (states.includes(String(run.state))) return run;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`run ${id} never reached ${states.join('/')}`);
}

describe('weskit flavour', () => {
  let n: Node;
  beforeAll(async () => {
    n = await node({ flavor: 'weskit', requireRunDir: true });
  });
  afterAll(async () => n.sim.close());

  it.runIf(existsSync(FIXTURES))('answers service-info with the fields of the WESkit fixture', async () => {
    const info = JSON.parse((await get(`${n.wes}/service-info`, null)).text) as Record<string, unknown>;
    const expected = fixture('weskit-service-info.json') as Record<string, unknown>;
    expect(Object.keys(info).sort()).toEqual(Object.keys(expected).sort());
    expect(info.workflow_type_versions).toEqual(expected.workflow_type_versions);
    expect(info.supported_filesystem_protocols).toEqual(['file', 'S3']);
  });

  it.runIf(existsSync(FIXTURES))('refuses an unknown workflow type exactly as WESkit does', async () => {
    const res = await post(n, runForm(weskitFields({ workflow_type: 'CWL' })));
    expect(res).toEqual({ status: 400, body: fixture('weskit-error.400.json') });
  });

  it('takes only relative file: and trs: workflow URLs, and wants run_dir', async () => {
    const github = await post(n, runForm(weskitFields({ workflow_url: 'https://github.com/genepi/imputationserver2' })));
    expect(github.body.msg).toBe(`Malformed request: ["Only 'file:' (relative) and 'trs:' are allowed in workflow URIs: 'https://github.com/genepi/imputationserver2'"]`);
    const absolute = await post(n, runForm(weskitFields({ workflow_url: 'file:/etc/passwd' })));
    expect(absolute.body.msg).toBe(`Malformed request: ["Not a relative path: 'file:/etc/passwd'"]`);
    const noDir = await post(n, runForm(weskitFields({ tags: '{}' })));
    expect(noDir.body.msg).toBe(`Malformed request: ["'run_dir' tag is required and missing"]`);
    expect(noDir.status).toBe(400);
  });

  it('answers auth problems as flask-jwt-extended does', async () => {
    expect(await get(`${n.wes}/runs`, null)).toMatchObject({ status: 401, text: '{"msg":"Missing Authorization Header"}' });
    expect(await get(`${n.wes}/runs`, 'forged')).toMatchObject({ status: 422, text: '{"msg":"Signature verification failed"}' });
  });

  it('runs never say QUEUED, lists carry no tags, requests are echoed as strings', async () => {
    const created = await post(n, await withAttachment(runForm(weskitFields())));
    expect(created.status).toBe(200);
    const id = String(created.body.run_id);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const list = JSON.parse((await get(`${n.wes}/runs`)).text) as { runs: Record<string, unknown>[]; next_page_token: string };
    expect(list.next_page_token).toBe('');
    expect(Object.keys(list.runs[0] ?? {}).sort()).toEqual(['run_id', 'state']);
    const run = await until(n, id, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR']);
    expect(run.state).toBe('COMPLETE');
    expect(typeof (run.request as Record<string, unknown>).tags).toBe('string');
    expect(run.task_logs).toEqual([]);
    expect(run.user_id).toBe('alice');
    const outputs = run.outputs as { filesystem: string[]; S3: string[] };
    expect(outputs.filesystem).toContain('results/chr20.dose.vcf.gz');
    expect(outputs.S3).toHaveLength(outputs.filesystem.length);
  });

  it.runIf(existsSync(FIXTURES))('answers the fixture for a run id it does not know', async () => {
    const res = await get(`${n.wes}/runs/0b7e6a52-4f0e-4d8c-9a51-3c2f1d0e9a77`);
    expect({ status: res.status, body: JSON.parse(res.text) as unknown }).toEqual({ status: 404, body: fixture('weskit-error.404.json') });
  });

  it('answers what WESkit answers for malformed ids, routes it does not have, and other users', async () => {
    expect(await get(`${n.wes}/runs/not-a-uuid`)).toMatchObject({ status: 500, text: `{"msg":"Syntactically invalid run ID: 'not-a-uuid'","status_code":500}` });
    const id = String((await post(n, await withAttachment(runForm(weskitFields())))).body.run_id);
    const tasks = await get(`${n.wes}/runs/${id}/tasks`);
    expect(tasks.status).toBe(404);
    expect(tasks.type).toContain('text/html');
    expect(tasks.text).toContain('<title>404 Not Found</title>');
    expect((await get(`${n.wes}/runs/${id}`, BOB)).status).toBe(403);
    await until(n, id, ['COMPLETE']);
  });

  it('serves stdout/stderr only for completed runs (WESkit Helper.get_log_response)', async () => {
    const bad = JSON.stringify({ files: ['chr20.vcf.gz'], refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg38', phasing: 'eagle', mode: 'imputation' });
    const id = String((await post(n, await withAttachment(runForm(weskitFields({ workflow_params: bad }))))).body.run_id);
    const run = await until(n, id, ['EXECUTOR_ERROR']);
    expect((run.run_log as Record<string, unknown>).exit_code).toBe(1);
    expect(await get(`${n.base}/weskit/v1/runs/${id}/stderr`)).toMatchObject({ status: 409, text: `{"msg":"Run '${id}' is not in COMPLETED state","status_code":409}` });
  });

  it('pre-signed S3 results: readable without a token, not with one, not when forged', async () => {
    const id = String((await post(n, await withAttachment(runForm(weskitFields())))).body.run_id);
    const run = await until(n, id, ['COMPLETE']);
    const url = (run.outputs as { S3: string[] }).S3.find((u) => u.includes('chr20.dose.vcf.gz')) ?? '';
    expect(url).toContain('X-Amz-Signature=');
    expect((await get(url, null)).status).toBe(200);
    const both = await get(url, TOKEN);
    expect(both.status).toBe(400);
    expect(both.text).toContain('<Code>InvalidArgument</Code>');
    const forged = await get(url.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=00'), null);
    expect(forged.text).toContain('SignatureDoesNotMatch');
  });

  it('a run waiting for a slot is INITIALIZING, and signed URLs expire on the node’s clock', async () => {
    let clock = Date.parse('2025-10-16T10:00:00Z');
    const slow = await node({ flavor: 'weskit', maxConcurrentRuns: 1, presignTtlSeconds: 60, now: () => clock, timing: { ...FAST_WES_TIMING, validation: 60_000 } });
    try {
      const fast = await node({ flavor: 'weskit', presignTtlSeconds: 60, now: () => clock });
      try {
        const a = String((await post(slow, await withAttachment(runForm(weskitFields())))).body.run_id);
        const b = String((await post(slow, await withAttachment(runForm(weskitFields())))).body.run_id);
        await until(slow, a, ['RUNNING']);
        expect(JSON.parse((await get(`${slow.wes}/runs/${b}/status`)).text)).toEqual({ run_id: b, state: 'INITIALIZING' });
        const id = String((await post(fast, await withAttachment(runForm(weskitFields())))).body.run_id);
        const run = await until(fast, id, ['COMPLETE']);
        const url = (run.outputs as { S3: string[] }).S3[0] ?? '';
        expect((await get(url, null)).status).toBe(200);
        clock += 61_000;
        const expired = await get(url, null);
        expect(expired.status).toBe(403);
        expect(expired.text).toContain('Request has expired');
      } finally {
        await fast.sim.close();
      }
    } finally {
      await slow.sim.close();
    }
  });

  it('refuses attachment names that climb out of the run', async () => {
    const res = await post(n, await withAttachment(runForm(weskitFields()), '../../etc/chr20.vcf.gz'));
    expect(res.status).toBe(400);
    expect(String(res.body.msg)).toContain('not a relative path');
  });
});

describe('standard flavour', () => {
  let n: Node;
  beforeAll(async () => {
    n = await node({ flavor: 'standard', maxConcurrentRuns: 1, outputStyle: 'broker', maxUploadBytes: 1024 * 1024 });
  });
  afterAll(async () => n.sim.close());

  const fields = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...weskitFields(),
    workflow_url: STANDARD_WORKFLOW,
    workflow_type_version: 'DSL2',
    tags: JSON.stringify({ broker_run_id: 'b-s' }),
    ...extra,
  });

  it('queues beyond its capacity, pages RunSummaries with tags, and lists tasks', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(String((await post(n, await withAttachment(runForm(fields({ tags: JSON.stringify({ broker_run_id: `b-${i}` }) }))))).body.run_id));
    const states = await Promise.all(ids.map(async (id) => JSON.parse((await get(`${n.wes}/runs/${id}/status`)).text).state as string));
    expect(states.filter((s) => s === 'QUEUED').length).toBeGreaterThan(0);
    const first = JSON.parse((await get(`${n.wes}/runs?page_size=2`)).text) as { runs: { run_id: string; tags: Record<string, string> }[]; next_page_token: string };
    expect(first.runs.map((r) => r.tags.broker_run_id)).toEqual(['b-2', 'b-1']);
    const second = JSON.parse((await get(`${n.wes}/runs?page_size=2&page_token=${first.next_page_token}`)).text) as typeof first;
    expect(second.runs.map((r) => r.tags.broker_run_id)).toEqual(['b-0']);
    expect(second.next_page_token).toBe('');
    for (const id of ids) await until(n, id, ['COMPLETE']);
    const tasks = JSON.parse((await get(`${n.wes}/runs/${ids[0]}/tasks?page_size=3`)).text) as { task_logs: { name: string; exit_code: number }[]; next_page_token: string };
    expect(tasks.task_logs.map((t) => t.name)).toEqual(['INPUT_VALIDATION', 'QUALITY_CONTROL', 'IMPUTATION']);
    expect(tasks.next_page_token).not.toBe('');
  });

  it("lists outputs in this broker's shape, with the checksums of the files served", async () => {
    const id = String((await post(n, await withAttachment(runForm(fields())))).body.run_id);
    const run = await until(n, id, ['COMPLETE']);
    const files = (run.outputs as { files: { name: string; sha256: string; url: string }[] }).files;
    const dose = files.find((f) => f.name.endsWith('dose.vcf.gz'));
    expect(dose?.sha256).toBe(n.sim.getRun(id)?.outputs.find((o) => o.name === dose?.name)?.sha256);
    expect((await get(dose?.url ?? '', null)).status).toBe(401);
    expect((await get(dose?.url ?? '')).status).toBe(200);
  });

  it('refuses workflows it does not run and uploads beyond its limit', async () => {
    const other = await post(n, runForm(fields({ workflow_url: 'https://example.org/other.nf' })));
    expect(other).toMatchObject({ status: 400, body: { status_code: 400 } });
    expect(String(other.body.msg)).toContain('is not a workflow this node runs');
    const big = join(dir, 'big.vcf.gz');
    await writeFile(big, Buffer.alloc(2 * 1024 * 1024, 1));
    const form = runForm(fields());
    form.append('workflow_attachment', await openAsBlob(big), 'chr20.vcf.gz');
    expect((await post(n, form)).status).toBe(413);
  });

  it('a preempted run is PREEMPTED, which the adapter reports as terminal', async () => {
    const slow = await node({ flavor: 'standard', timing: { ...FAST_WES_TIMING, validation: 60_000 } });
    try {
      const id = String((await post(slow, await withAttachment(runForm(fields())))).body.run_id);
      await until(slow, id, ['RUNNING']);
      expect(slow.sim.preempt(id)).toBe(true);
      await until(slow, id, ['PREEMPTED']);
      const adapter = createWesAdapter({
        baseUrl: slow.wes,
        token: TOKEN,
        workflowUrl: STANDARD_WORKFLOW,
        workflowType: 'NFL',
        workflowTypeVersion: 'DSL2',
        panels: [{ key: 'p', id: 'p', version: null, label: 'p', build: 'hg19', populations: [] }],
      });
      const job = await adapter.getJob(id);
      expect(job.state).toBe('PREEMPTED');
      expect(job.tasks.find((t) => t.name === 'INPUT_VALIDATION')?.state).toBe('PREEMPTED');
    } finally {
      await slow.sim.close();
    }
  });
});

describe('fault knobs', () => {
  it('rate limit: 429 with Retry-After; maintenance: 503; WESkit crashes are Flask HTML', async () => {
    const n = await node({ flavor: 'weskit' });
    try {
      n.sim.setRateLimit({ maxRequests: 1, windowMs: 60_000, retryAfterSeconds: 9 });
      expect((await get(`${n.wes}/service-info`)).status).toBe(200);
      const limited = await get(`${n.wes}/service-info`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('9');
      n.sim.setRateLimit(null);
      n.sim.setMaintenance(true);
      const down = await get(`${n.wes}/service-info`);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('60');
      const adapter = createWesAdapter({
        flavor: 'weskit',
        baseUrl: n.wes,
        token: TOKEN,
        workflowUrl: WESKIT_WORKFLOW,
        workflowType: 'NFL',
        workflowTypeVersion: '22.10.0',
        panels: [{ key: 'p', id: 'p', version: null, label: 'p', build: 'hg19', populations: [] }],
      });
      const refused = await adapter.getJob('0b7e6a52-4f0e-4d8c-9a51-3c2f1d0e9a77').then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ kind: 'maintenance', status: 503, retryAfterMs: 60_000 });
      expect(await adapter.health()).toMatchObject({ ok: false, maintenance: true });
      n.sim.setMaintenance(false);
      n.sim.setFaults({ errorRate: 1 });
      const crash = await get(`${n.wes}/service-info`);
      expect(crash.status).toBe(500);
      expect(crash.text).toContain('<title>500 Internal Server Error</title>');
      n.sim.setFaults({ errorRate: 0 });
      n.sim.setDown(true);
      await expect(fetch(`${n.wes}/service-info`)).rejects.toThrow();
    } finally {
      await n.sim.close();
    }
  });
});

describe('persistence', () => {
  it('keeps finished runs across a restart; runs in flight come back SYSTEM_ERROR', async () => {
    const workDir = join(dir, 'persist');
    const first = createWesSimulator({ flavor: 'standard', workDir, timing: FAST_WES_TIMING, persistRuns: true, tokens: { [TOKEN]: 'alice' } });
    const base = await first.start();
    const n = { sim: first, base, wes: `${base}/ga4gh/wes/v1` };
    const f = { ...weskitFields(), workflow_url: STANDARD_WORKFLOW, workflow_type_version: 'DSL2' };
    const done = String((await post(n, await withAttachment(runForm(f)))).body.run_id);
    await until(n, done, ['COMPLETE']);
    await first.close();

    const slow = createWesSimulator({ flavor: 'standard', workDir, timing: { ...FAST_WES_TIMING, validation: 60_000 }, persistRuns: true, tokens: { [TOKEN]: 'alice' } });
    const base2 = await slow.start();
    const n2 = { sim: slow, base: base2, wes: `${base2}/ga4gh/wes/v1` };
    expect((await until(n2, done, ['COMPLETE'])).state).toBe('COMPLETE');
    const busy = String((await post(n2, await withAttachment(runForm(f)))).body.run_id);
    await until(n2, busy, ['RUNNING']);
    await slow.close();

    const third = createWesSimulator({ flavor: 'standard', workDir, timing: FAST_WES_TIMING, persistRuns: true, tokens: { [TOKEN]: 'alice' } });
    const base3 = await third.start();
    try {
      const n3 = { sim: third, base: base3, wes: `${base3}/ga4gh/wes/v1` };
      const run = await until(n3, busy, ['SYSTEM_ERROR']);
      expect((run.run_log as { system_logs: string[] }).system_logs.join('\n')).toContain('the node restarted');
      expect((await get(`${n3.wes}/runs/${done}/outputs/chr20.dose.vcf.gz`)).status).toBe(200);
    } finally {
      await third.close();
    }
  });
});
