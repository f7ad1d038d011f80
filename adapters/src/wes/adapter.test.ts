/**
 * The WES adapter against a scripted loopback server: what goes on the wire (multipart fields,
 * tags, attachments, tokens) and how each kind of node answer is read. Whole-node behaviour is
 * covered by the contract suite against the simulators.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text as streamText } from 'node:stream/consumers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Panel, SubmitRequest } from '../types';
import { json, rejection, ScriptedServer, type Seen } from '../http/scripted-server.test-helper';
import { createWesAdapter, type WesAdapterOptions } from './index';

const TOKEN = 'oidc-access-token-0123456789';
const PANELS: Panel[] = [{ key: 'h3africa-v6hc-s', id: 'h3africa-v6hc-s', version: null, label: 'H3Africa v6', build: 'hg38', populations: [{ id: 'afr', label: 'AFR' }] }];
const server = new ScriptedServer();
const other = new ScriptedServer();
let dir = '';

beforeAll(async () => {
  await server.start();
  await other.start();
  dir = await mkdtemp(join(tmpdir(), 'wes-adapter-'));
});
afterAll(async () => {
  await server.close();
  await other.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.seen.length = 0;
  other.seen.length = 0;
});

function adapter(overrides: Partial<WesAdapterOptions> = {}) {
  return createWesAdapter({
    baseUrl: `${server.url}/ga4gh/wes/v1/`,
    token: TOKEN,
    flavor: 'weskit',
    workflowUrl: 'file:imputation/main.nf',
    workflowType: 'NFL',
    workflowTypeVersion: '22.10.0',
    tags: { run_dir: 'file:runs/${runId}' },
    panels: PANELS,
    timeoutMs: 2000,
    ...overrides,
  });
}

async function request(): Promise<SubmitRequest> {
  const a = join(dir, 'a.vcf.gz');
  await writeFile(a, 'first file bytes');
  return {
    runId: 'b-0001',
    password: 'k7RqM2xT9vBn4',
    params: { refpanel: 'h3africa-v6hc-s', population: 'afr', build: 'hg38', phasing: 'eagle', r2Filter: '0', mode: 'imputation' },
    files: [{ name: 'chr20.vcf.gz', path: a, size: 16, url: 'https://broker.example.org/in/chr20?sig=1', drsUri: 'drs://broker.example.org/obj-1' }],
  };
}

async function form(seen: Seen | undefined): Promise<FormData> {
  if (!seen) throw new Error('no request');
  return new Response(new Uint8Array(seen.body), { headers: { 'content-type': String(seen.headers['content-type']) } }).formData();
}

describe('submit', () => {
  it('posts WES multipart: JSON-encoded params and tags, the run id tag, attachments by name', async () => {
    server.handler = (_req, res) => json(res, 200, { run_id: '0b7e6a52-4f0e-4d8c-9a51-3c2f1d0e9a77' });
    const id = await adapter({ workflowEngineParameters: { 'job-name': 'imputation' } }).submit(await request());
    expect(id).toBe('0b7e6a52-4f0e-4d8c-9a51-3c2f1d0e9a77');
    const seen = server.seen[0];
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/ga4gh/wes/v1/runs');
    expect(seen?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const f = await form(seen);
    expect(f.get('workflow_url')).toBe('file:imputation/main.nf');
    expect(f.get('workflow_type')).toBe('NFL');
    expect(f.get('workflow_type_version')).toBe('22.10.0');
    expect(JSON.parse(String(f.get('tags')))).toEqual({ run_dir: 'file:runs/b-0001', broker_run_id: 'b-0001' });
    expect(JSON.parse(String(f.get('workflow_engine_parameters')))).toEqual({ 'job-name': 'imputation' });
    expect(JSON.parse(String(f.get('workflow_params')))).toMatchObject({ files: ['chr20.vcf.gz'], refpanel: 'h3africa-v6hc-s', password: 'k7RqM2xT9vBn4' });
    const files = f.getAll('workflow_attachment').filter((x): x is File => typeof x !== 'string');
    expect(files.map((x) => x.name)).toEqual(['chr20.vcf.gz']);
    expect(await files[0]?.text()).toBe('first file bytes');
  });

  it('streams attachments: memory stays flat however large the upload', async () => {
    const big = join(dir, 'big.vcf.gz');
    const size = 192 * 1024 * 1024;
    await writeFile(big, '');
    await truncate(big, size); // sparse: costs no disk
    const sink = createServer((req, res) => {
      let received = 0;
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => json(res, 200, { run_id: `r-${received}` }));
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
    try {
      const base = await request();
      const id = await adapter({ baseUrl: `${url}/ga4gh/wes/v1` }).submit({ ...base, files: [{ name: 'chr1.vcf.gz', path: big, size }] });
      expect(Number(id.slice(2))).toBeGreaterThan(size);
    } finally {
      clearInterval(sampler);
      sink.closeAllConnections();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
      await rm(big, { force: true });
    }
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });

  it('in drs and https modes sends references and no attachment', async () => {
    server.handler = (_req, res) => json(res, 200, { run_id: 'r1' });
    await adapter({ inputMode: 'drs' }).submit(await request());
    await adapter({ inputMode: 'https' }).submit(await request());
    const drs = await form(server.seen[0]);
    const https = await form(server.seen[1]);
    expect(JSON.parse(String(drs.get('workflow_params'))).files).toEqual(['drs://broker.example.org/obj-1']);
    expect(JSON.parse(String(https.get('workflow_params'))).files).toEqual(['https://broker.example.org/in/chr20?sig=1']);
    expect(drs.has('workflow_attachment')).toBe(false);
  });

  it('refuses before sending what the node could not read', async () => {
    const base = await request();
    const noUrl = { ...base, files: [{ name: 'chr20.vcf.gz', path: base.files[0]!.path, size: 16 }] };
    expect((await rejection(adapter({ inputMode: 'https' }).submit(noUrl))).kind).toBe('rejected');
    expect((await rejection(adapter().submit({ ...base, password: 'p@ss' }))).kind).toBe('rejected');
    expect((await rejection(adapter().submit({ ...base, files: [{ ...base.files[0]!, name: '../x.vcf.gz' }] }))).kind).toBe('rejected');
    expect(server.seen).toHaveLength(0);
  });

  it('a 200 without run_id is unreachable: the run may exist, look it up instead of submitting again', async () => {
    server.handler = (_req, res) => json(res, 200, { ok: true });
    expect((await rejection(adapter().submit(await request()))).kind).toBe('unreachable');
  });

  it('WESkit validation errors are rejected with the node’s words', async () => {
    server.handler = (_req, res) => json(res, 400, { msg: 'Malformed request: ["Unknown workflow_type \'CWL\'. Know NFL, SMK"]', status_code: 400 });
    const error = await rejection(adapter().submit(await request()));
    expect(error.kind).toBe('rejected');
    expect(error.message).toContain("Unknown workflow_type 'CWL'. Know NFL, SMK");
  });
});

describe('errors', () => {
  it('maps WESkit and flask-jwt-extended answers', async () => {
    const a = adapter();
    server.handler = (_req, res) => json(res, 422, { msg: 'Signature verification failed' });
    expect((await rejection(a.getJob('0b7e6a52-4f0e-4d8c-9a51-3c2f1d0e9a77'))).kind).toBe('auth');
    server.handler = (_req, res) => json(res, 401, { msg: 'Missing Authorization Header' });
    expect((await rejection(a.getJob('x'))).kind).toBe('auth');
    server.handler = (_req, res) => json(res, 404, { msg: "Could not find 'x'", status_code: 404 });
    expect((await rejection(a.getJob('x'))).kind).toBe('not_found');
    server.handler = (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>404 Not Found</title><h1>Not Found</h1>');
    };
    // A route the web server does not know is a wrong base URL, not a vanished run.
    expect((await rejection(a.getJob('x'))).kind).toBe('unreachable');
    server.handler = (_req, res) => json(res, 500, { msg: "Syntactically invalid run ID: 'x'", status_code: 500 });
    expect((await rejection(a.getJob('x'))).kind).toBe('unreachable');
    server.handler = (_req, res) => json(res, 429, { msg: 'Too Many Requests' }, { 'retry-after': '12' });
    expect(await rejection(a.getJob('x'))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 12_000 });
  });

  it('never puts the token in a message, even when the node echoes it', async () => {
    server.handler = (req, res) => json(res, 400, { msg: `bad header ${String(req.headers.authorization)}` });
    const error = await rejection(adapter().getJob('x'));
    expect(error.message).not.toContain(TOKEN);
  });
});

describe('tasks', () => {
  const runLog = (extra: Record<string, unknown> = {}) => ({
    run_id: 'r1',
    state: 'RUNNING',
    request: { tags: { broker_run_id: 'b-1' } },
    run_log: { start_time: '2025-10-16T10:00:00Z' },
    task_logs: [{ name: 'INPUT_VALIDATION', start_time: '2025-10-16T10:00:00Z', end_time: '2025-10-16T10:01:00Z', exit_code: 0 }],
    ...extra,
  });

  it('reads /tasks when the node has it, following next_page_token', async () => {
    server.handler = (req, res) => {
      if (req.url === '/ga4gh/wes/v1/runs/r1') return json(res, 200, runLog({ task_logs_url: `${server.url}/ga4gh/wes/v1/runs/r1/tasks` }));
      const token = new URL(req.url, server.url).searchParams.get('page_token');
      if (token === null) return json(res, 200, { task_logs: [{ id: 't1', name: 'A', start_time: '2025-10-16T10:00:00Z', end_time: '2025-10-16T10:01:00Z', exit_code: 0 }], next_page_token: 'p2' });
      return json(res, 200, { task_logs: [{ id: 't2', name: 'B', start_time: '2025-10-16T10:01:00Z' }, { id: 't3', name: 'C' }], next_page_token: '' });
    };
    const job = await adapter({ flavor: 'standard' }).getJob('r1');
    expect(job.tasks.map((t) => [t.name, t.state])).toEqual([
      ['A', 'COMPLETE'],
      ['B', 'RUNNING'],
      ['C', 'QUEUED'],
    ]);
    expect(job.progress).toBe(33);
    expect(job.name).toBe('b-1');
  });

  it('falls back to task_logs when the node has no /tasks (WES 1.0), and stops asking', async () => {
    server.handler = (req, res) => {
      if (req.url === '/ga4gh/wes/v1/runs/r1') return json(res, 200, runLog());
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    };
    const a = adapter({ flavor: 'standard' });
    const first = await a.getJob('r1');
    expect(first.tasks.map((t) => [t.name, t.state])).toEqual([['INPUT_VALIDATION', 'COMPLETE']]);
    await a.getJob('r1');
    expect(server.seen.filter((s) => s.url.includes('/tasks'))).toHaveLength(1);
  });

  it('a failed run says why: system_logs, failed tasks, or the served stderr', async () => {
    server.handler = (req, res) => {
      if (req.url === '/ga4gh/wes/v1/runs/r1') {
        return json(res, 200, runLog({ state: 'EXECUTOR_ERROR', run_log: { exit_code: 1, stderr: `${server.url}/ga4gh/wes/v1/runs/r1/logs/stderr`, system_logs: ['Run created'] }, task_logs: [] }));
      }
      if (req.url.endsWith('/logs/stderr')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('N E X T F L O W\nERROR ~ chr20.vcf.gz is not a valid hg38 encoding\n');
        return;
      }
      return json(res, 404, { msg: 'no tasks' });
    };
    const job = await adapter({ flavor: 'standard' }).getJob('r1');
    expect(job.state).toBe('EXECUTOR_ERROR');
    expect(job.errors).toEqual(['ERROR ~ chr20.vcf.gz is not a valid hg38 encoding']);
    expect(server.seen.find((s) => s.url.endsWith('/logs/stderr'))?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('never asks WESkit for /tasks, and maps its states (never QUEUED)', async () => {
    server.handler = (_req, res) => json(res, 200, { run_id: 'r1', state: 'INITIALIZING', request: { tags: '{"broker_run_id": "b-9"}' }, task_logs: [] });
    const job = await adapter().getJob('r1');
    expect(job).toMatchObject({ state: 'INITIALIZING', rawState: 'INITIALIZING', name: 'b-9', progress: 0 });
    expect(server.seen.some((s) => s.url.includes('/tasks'))).toBe(false);
  });
});

describe('findByRunId', () => {
  it('WES 1.1: matches RunSummary tags across pages without reading RunLogs', async () => {
    server.handler = (req, res) => {
      const token = new URL(req.url, server.url).searchParams.get('page_token');
      if (token === null) return json(res, 200, { runs: [{ run_id: 'a', state: 'COMPLETE', tags: { broker_run_id: 'x' } }], next_page_token: 'n1' });
      return json(res, 200, { runs: [{ run_id: 'b', state: 'RUNNING', tags: { broker_run_id: 'wanted' } }], next_page_token: '' });
    };
    expect(await adapter({ flavor: 'standard' }).findByRunId('wanted')).toBe('b');
    expect(server.seen.map((s) => new URL(s.url, server.url).pathname)).toEqual(['/ga4gh/wes/v1/runs', '/ga4gh/wes/v1/runs']);
  });

  it('WESkit: reads RunLogs of untagged runs (tags as a JSON string), remembering them', async () => {
    const runs = Array.from({ length: 5 }, (_, i) => ({ run_id: `r${i}`, state: 'COMPLETE' }));
    server.handler = (req, res) => {
      const path = new URL(req.url, server.url).pathname;
      if (path === '/ga4gh/wes/v1/runs') return json(res, 200, { runs, next_page_token: '' });
      const id = path.split('/').pop();
      return json(res, 200, { run_id: id, request: { tags: JSON.stringify({ broker_run_id: `b-${id}` }) } });
    };
    const a = adapter();
    expect(await a.findByRunId('b-r2')).toBe('r2');
    expect(await a.findByRunId('b-unknown')).toBeNull();
    const reads = server.seen.filter((s) => /\/runs\/r\d$/.test(s.url)).map((s) => s.url.split('/').pop());
    // Both ends first (r0, r4, r1, r3, r2), then only what was not read yet.
    expect(reads).toEqual(['r0', 'r4', 'r1', 'r3', 'r2']);
  });

  it('with more untagged runs than it may read, says "try again" rather than "not found"', async () => {
    server.handler = (req, res) => {
      const path = new URL(req.url, server.url).pathname;
      if (path === '/ga4gh/wes/v1/runs') return json(res, 200, [{ run_id: 'r0', state: 'COMPLETE' }, { run_id: 'r1', state: 'COMPLETE' }, { run_id: 'r2', state: 'COMPLETE' }]);
      return json(res, 200, { run_id: path.split('/').pop(), request: {} });
    };
    const a = adapter({ maxRunLogReads: 2 });
    expect((await rejection(a.findByRunId('b-1'))).kind).toBe('unreachable');
    expect(await a.findByRunId('b-1')).toBeNull();
  });
});

describe('cancel and downloads', () => {
  it('a node that refuses to cancel an ended run is fine; one that refuses a live run is not', async () => {
    let state = 'COMPLETE';
    server.handler = (req, res) =>
      req.url.endsWith('/cancel') ? json(res, 409, { msg: 'already finished' }) : json(res, 200, { run_id: 'r1', state });
    await adapter().cancel('r1');
    state = 'RUNNING';
    expect((await rejection(adapter().cancel('r1'))).kind).toBe('rejected');
  });

  it("gives the token to the node's own URLs only, and refuses outputs by reference", async () => {
    server.handler = (_req, res) => {
      res.writeHead(200);
      res.end('from the node');
    };
    other.handler = (_req, res) => {
      res.writeHead(200);
      res.end('from storage');
    };
    const a = adapter({ allowPrivateOutputUrls: true });
    expect(await streamText(await a.download({ name: 'a', size: null, ref: `${server.url}/api/v1/runs/r/outputs/1` }))).toBe('from the node');
    expect(await streamText(await a.download({ name: 'b', size: null, ref: `${server.url}/s3/b/k?X-Amz-Signature=abc` }))).toBe('from the node');
    expect(await streamText(await a.download({ name: 'c', size: null, ref: `${other.url}/k` }))).toBe('from storage');
    expect(server.seen.map((s) => s.headers.authorization)).toEqual([`Bearer ${TOKEN}`, undefined]);
    expect(other.seen[0]?.headers.authorization).toBeUndefined();
    const refused = await rejection(a.download({ name: 'd', size: null, ref: 'gs://b/k', reference: { url: 'gs://b/k', type: 'gs' } }));
    expect(refused.kind).toBe('rejected');
    expect(refused.message).toContain('register it by reference');
  });

  it('refuses to fetch outputs in private networks other than the node (SSRF)', async () => {
    const error = await rejection(adapter().download({ name: 'x', size: null, ref: 'http://169.254.169.254/latest/meta-data/' }));
    expect(error.kind).toBe('rejected');
    expect(error.message).toContain('private network');
  });
});

describe('discovery', () => {
  it('a broker node lists its panels from /api/v1/panels, merged per key', async () => {
    server.handler = (req, res) => {
      expect(req.url).toBe('/api/v1/panels');
      json(res, 200, {
        panels: [
          { backend: 'mis2', key: 'apps@1000g-phase-3-v5@2.0.0', id: '1000g-phase-3-v5', version: '2.0.0', label: '1000G', build: 'hg19', populations: [{ id: 'eur', label: 'EUR' }] },
          { backend: 'afrigen', key: 'apps@1000g-phase-3-v5@2.0.0', id: '1000g-phase-3-v5', version: '2.0.0', label: '1000G', build: 'hg19', populations: [{ id: 'afr', label: 'AFR' }] },
        ],
      });
    };
    const catalog = await adapter({ flavor: 'broker', workflowUrl: undefined, workflowType: undefined, workflowTypeVersion: undefined, panels: undefined }).discover();
    expect(catalog.appId).toBe(`${server.url}/workflows/imputation`);
    expect(catalog.panels).toHaveLength(1);
    expect(catalog.panels[0]?.populations.map((p) => p.id)).toEqual(['eur', 'afr']);
  });

  it('a broker that cannot list panels falls back to the configured ones', async () => {
    server.handler = (_req, res) => json(res, 503, { msg: 'starting' });
    const catalog = await adapter({ flavor: 'broker', panels: PANELS }).discover();
    expect(catalog.panels.map((p) => p.key)).toEqual(['h3africa-v6hc-s']);
  });

  it('a node that does not run the configured workflow type is refused at discovery and unhealthy', async () => {
    server.handler = (_req, res) => json(res, 200, { workflow_type_versions: { CWL: { workflow_type_version: ['v1.0'] } }, supported_wes_versions: ['1.1.0'] });
    expect((await rejection(adapter().discover())).message).toContain('runs CWL, not NFL');
    expect(await adapter().health()).toMatchObject({ ok: false });
  });
});
