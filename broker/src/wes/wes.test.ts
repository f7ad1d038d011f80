/**
 * The WES endpoint end to end: a WES client submits the demo cohort, the broker sends it to a
 * Cloudgene simulator, follows it, brings the results home and serves them.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunListResponse, RunLog, RunStatus, ServiceInfo, TaskListResponse, TaskLog } from '@ibroker/api-spec/index';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { getJson, submit, terminal, waitForState } from '../testing/wes-client';

const demo = (build: string, chr: string) => join(import.meta.dirname, '../../../demo/data', build, `chr${chr}.vcf.gz`);
const hg19 = ['20', '21', '22'].map((c) => demo('hg19', c));
const hg38 = ['20', '21', '22'].map((c) => demo('hg38', c));

let tb: TestBroker;
let token: string;

beforeAll(async () => {
  tb = await startTestBroker();
  token = await tb.token();
});
afterAll(async () => {
  await tb?.close();
});

interface OutputFile {
  name: string;
  size: number;
  sha256: string;
  url: string;
}

describe('GA4GH WES 1.1 through Cloudgene', () => {
  it('serves service-info without a token, advertising NFL/DSL2', async () => {
    const res = await fetch(`${tb.url}/ga4gh/wes/v1/service-info`);
    expect(res.status).toBe(200);
    const info = (await res.json()) as ServiceInfo;
    expect(info.type).toEqual({ group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' });
    expect(info.workflow_type_versions).toEqual({ NFL: { workflow_type_version: ['DSL2'] } });
    expect(info.supported_wes_versions).toContain('1.1.0');
  });

  it('runs the hg19 demo cohort on MIS 2 to COMPLETE and brings every result home with its sha256', async () => {
    const res = await submit(tb.url, token, { files: hg19, params: { refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19' } });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    expect(run_id).toMatch(/^[0-9a-f-]{36}$/);

    const log = await waitForState(tb.url, token, run_id, terminal);
    expect(log.state).toBe('COMPLETE');
    expect(log.request?.workflow_type).toBe('NFL');
    expect(log.request?.workflow_params).toMatchObject({ refpanel: '1000g-phase-3-v5' });
    expect(log.task_logs_url).toBe(`${tb.url}/ga4gh/wes/v1/runs/${run_id}/tasks`);
    expect(log.run_log?.system_logs?.join('\n')).toContain('Routed to mis2');

    const files = (log.outputs as { files: OutputFile[] }).files;
    const names = files.map((f) => f.name);
    for (const chr of ['20', '21', '22']) expect(names).toContain(`chr_${chr}.zip`);
    expect(names).toContain('qc_report.txt');
    for (const f of files) {
      const dl = await fetch(f.url, { headers: { Authorization: `Bearer ${token}` } });
      expect(dl.status).toBe(200);
      const bytes = Buffer.from(await dl.arrayBuffer());
      expect(bytes.length).toBe(f.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }

    // The backend's job id never leaks as the run id, and the job was named after the run.
    const sim = tb.sims.mis2!;
    const row = { remoteId: (await tb.broker.deps.ds.query('SELECT remote_id FROM runs WHERE id = $1', [run_id]))[0].remote_id as string | null };
    expect(row.remoteId).toMatch(/^job-/);
    expect(sim.getJob(row.remoteId!)?.name).toBe(run_id);
    expect(JSON.stringify(log)).not.toContain(row.remoteId!);

    // Tasks are the Cloudgene steps, with times and messages.
    const tasks = await getJson<TaskListResponse>(`${tb.url}/ga4gh/wes/v1/runs/${run_id}/tasks`, token);
    expect(tasks.status).toBe(200);
    expect(tasks.body.task_logs?.map((t) => t.name)).toEqual(['Input Validation', 'Quality Control', 'Phasing and Imputation', 'Summary']);
    expect(tasks.body.next_page_token).toBe('');
    const first = tasks.body.task_logs![0]!;
    expect(first.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(first.system_logs?.join(' ')).toContain('Samples: 60');
    const one = await getJson<TaskLog>(`${tb.url}/ga4gh/wes/v1/runs/${run_id}/tasks/${first.id}`, token);
    expect(one.body).toEqual(first);

    const paged = await getJson<TaskListResponse>(`${tb.url}/ga4gh/wes/v1/runs/${run_id}/tasks?page_size=3`, token);
    expect(paged.body.task_logs).toHaveLength(3);
    const rest = await getJson<TaskListResponse>(
      `${tb.url}/ga4gh/wes/v1/runs/${run_id}/tasks?page_size=3&page_token=${paged.body.next_page_token}`,
      token,
    );
    expect(rest.body.task_logs?.map((t) => t.name)).toEqual(['Summary']);

    const status = await getJson<RunStatus>(`${tb.url}/ga4gh/wes/v1/runs/${run_id}/status`, token);
    expect(status.body).toEqual({ run_id, state: 'COMPLETE' });

    // The owner can read the zip password; the broker sent its own, alphanumeric.
    const pw = await getJson<{ password: string }>(`${tb.url}/api/v1/runs/${run_id}/result-password`, token);
    expect(pw.body.password).toMatch(/^[A-Za-z0-9]{24}$/);
    const stored = await tb.broker.deps.ds.query('SELECT password_enc FROM runs WHERE id = $1', [run_id]);
    expect(stored[0].password_enc).not.toContain(pw.body.password);
  });

  it('routes an hg38 H3Africa run to AfriGen-D', async () => {
    const res = await submit(tb.url, token, { files: hg38, params: { refpanel: 'h3africa-v6hc-s', population: 'afr' } });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    const log = await waitForState(tb.url, token, run_id, terminal);
    expect(log.state).toBe('COMPLETE');
    expect(log.run_log?.system_logs?.join(' ')).toContain('Routed to afrigen');
  });

  it('fetches inputs named by URL in workflow_params.files, and refuses URLs it cannot use', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/cohort/chr20.vcf.gz') return createReadStream(hg19[0]!).pipe(res);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await submit(tb.url, token, { params: { refpanel: 'hapmap-2', population: 'eur', mode: 'qc_only', files: [`${base}/cohort/chr20.vcf.gz`] } });
      expect(res.status).toBe(200);
      const { run_id } = (await res.json()) as { run_id: string };
      const inputs = await tb.broker.deps.runs.inputs(run_id);
      const expected = createHash('sha256').update(await (await fetch(`${base}/cohort/chr20.vcf.gz`)).arrayBuffer().then((b) => Buffer.from(b))).digest('hex');
      expect(inputs.map((i) => [i.name, i.sha256])).toEqual([['chr20.vcf.gz', expected]]);
      expect((await waitForState(tb.url, token, run_id, terminal)).state).toBe('COMPLETE');

      const missing = await submit(tb.url, token, { params: { refpanel: 'hapmap-2', population: 'eur', files: [`${base}/cohort/nope.vcf.gz`] } });
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { msg: string }).msg).toContain('answered HTTP 404');
      const ftp = await submit(tb.url, token, { params: { refpanel: 'hapmap-2', population: 'eur', files: ['ftp://example.org/chr20.vcf.gz'] } });
      expect(ftp.status).toBe(400);
      expect(((await ftp.json()) as { msg: string }).msg).toContain('must use https');
    } finally {
      server.close();
    }
  });

  it('serves a byte range of an output', async () => {
    const res = await submit(tb.url, token, { files: hg19.slice(0, 1), params: { refpanel: 'hapmap-2', population: 'eur', mode: 'qc_only' } });
    const { run_id } = (await res.json()) as { run_id: string };
    const log = await waitForState(tb.url, token, run_id, terminal);
    expect(log.state).toBe('COMPLETE');
    const f = (log.outputs as { files: OutputFile[] }).files.find((x) => x.name === 'qc_report.txt')!;
    const full = Buffer.from(await (await fetch(f.url, { headers: { Authorization: `Bearer ${token}` } })).arrayBuffer());
    const part = await fetch(f.url, { headers: { Authorization: `Bearer ${token}`, Range: 'bytes=5-14' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 5-14/${f.size}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(full.subarray(5, 15));
    const bad = await fetch(f.url, { headers: { Authorization: `Bearer ${token}`, Range: `bytes=${f.size + 10}-` } });
    expect(bad.status).toBe(416);
    expect(await bad.json()).toMatchObject({ status_code: 416 });
  });

  it('lists only the caller’s runs, newest first, with stable paging while runs are added', async () => {
    const other = await tb.token('demo-cli-2');
    const mine = await getJson<RunListResponse>(`${tb.url}/ga4gh/wes/v1/runs?page_size=2`, token);
    expect(mine.status).toBe(200);
    expect(mine.body.runs).toHaveLength(2);
    expect(mine.body.next_page_token).not.toBe('');
    // A run added now must not shift the next page.
    const added = await submit(tb.url, token, { files: hg19.slice(0, 1), params: { refpanel: 'hapmap-2', population: 'eur', mode: 'qc_only' } });
    expect(added.status).toBe(200);
    const next = await getJson<RunListResponse>(
      `${tb.url}/ga4gh/wes/v1/runs?page_size=2&page_token=${mine.body.next_page_token}`,
      token,
    );
    const seen = new Set([...mine.body.runs!, ...next.body.runs!].map((r) => r.run_id));
    expect(seen.size).toBe(mine.body.runs!.length + next.body.runs!.length);
    expect(next.body.runs!.length).toBeGreaterThan(0);
    for (const r of next.body.runs!) expect('tags' in r).toBe(true);

    const theirs = await getJson<RunListResponse>(`${tb.url}/ga4gh/wes/v1/runs`, other);
    expect(theirs.body.runs).toEqual([]);
    expect(theirs.body.next_page_token).toBe('');
    const someone = mine.body.runs![0]!.run_id;
    const peek = await getJson<{ msg: string; status_code: number }>(`${tb.url}/ga4gh/wes/v1/runs/${someone}`, other);
    expect(peek.status).toBe(404);
    expect(peek.body.status_code).toBe(404);
    const cancel = await fetch(`${tb.url}/ga4gh/wes/v1/runs/${someone}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${other}` } });
    expect(cancel.status).toBe(404);
  });

  it('cancels a running run: CANCELING, then CANCELED once Cloudgene confirms', async () => {
    const slow = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], timing: { imputation: 20_000 } });
    try {
      const t = await slow.token();
      const res = await submit(slow.url, t, { files: hg19.slice(0, 1), params: { refpanel: 'hapmap-2', population: 'eur' } });
      const { run_id } = (await res.json()) as { run_id: string };
      await waitForState(slow.url, t, run_id, (l) => l.state === 'RUNNING');
      const c = await fetch(`${slow.url}/ga4gh/wes/v1/runs/${run_id}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
      expect(c.status).toBe(200);
      expect(await c.json()).toEqual({ run_id });
      const log = await waitForState(slow.url, t, run_id, terminal);
      expect(log.state).toBe('CANCELED');
      const row = (await slow.broker.deps.ds.query('SELECT remote_id FROM runs WHERE id = $1', [run_id]))[0];
      expect(slow.sims.mis2!.getJob(row.remote_id)?.state).toBe(6);
      const again = await fetch(`${slow.url}/ga4gh/wes/v1/runs/${run_id}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ run_id });
      expect((await getJson<RunStatus>(`${slow.url}/ga4gh/wes/v1/runs/${run_id}/status`, t)).body.state).toBe('CANCELED');
    } finally {
      await slow.close();
    }
  });

  it('serves the workflow descriptor, docs and OpenAPI documents', async () => {
    const wf = (await (await fetch(`${tb.url}/workflows/imputation`)).json()) as { inputs: { refpanel: { values: string[] } } };
    expect(wf.inputs.refpanel.values).toEqual(expect.arrayContaining(['1000g-phase-3-v5', 'h3africa-v6hc-s']));
    expect((await fetch(`${tb.url}/docs`)).status).toBe(200);
    expect(await (await fetch(`${tb.url}/docs/wes.yaml`)).text()).toContain('/runs/{run_id}/tasks/{task_id}');
    const broker = (await (await fetch(`${tb.url}/docs/broker.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(broker.paths)).toContain('/api/v1/runs/{run_id}/outputs/{file_id}');
    const metrics = await (await fetch(`${tb.url}/metrics`)).text();
    expect(metrics).toContain('broker_http_request_duration_seconds_bucket');
    expect(metrics).toMatch(/broker_runs\{state="COMPLETE"\} \d+/);
    expect((await fetch(`${tb.url}/readyz`)).status).toBe(200);
  });
});

export type { RunLog };
