/**
 * Batches, the routing preview and the WES list filters over real HTTP: a batch of runs named by
 * drs:// URIs of uploads is accepted whole or refused whole (naming each bad run's index),
 * summarized by state, listed, filtered and canceled; another user sees none of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunListResponse } from '@ibroker/api-spec/index';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { getJson, submit } from '../testing/wes-client';

const hg19 = (chr: string) => join(import.meta.dirname, '../../../demo/data/hg19', `chr${chr}.vcf.gz`);

let tb: TestBroker;
let token: string;
let other: string;
const uris: string[] = [];

interface Summary {
  batch_id: string;
  name: string | null;
  created_at: string;
  tags: Record<string, string>;
  runs_total: number;
  counts: Record<string, number>;
  run_ids?: string[];
}

const post = (path: string, body: unknown, who = token) =>
  fetch(`${tb.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${who}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function refused(res: Response, status: number, msg: RegExp): Promise<string> {
  const body = (await res.json()) as { msg: string; status_code: number };
  expect({ status: res.status, code: body.status_code }).toEqual({ status, code: status });
  expect(body.msg).toMatch(msg);
  return body.msg;
}

const runCount = async () => ((await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM runs`)) as [{ n: number }])[0].n;

beforeAll(async () => {
  // Slow imputation: runs stay active while the test looks at them.
  tb = await startTestBroker({ timing: { imputation: 60_000 } });
  token = await tb.token('demo-cli');
  other = await tb.token('demo-cli-2');
  for (const chr of ['20', '21']) {
    const res = await fetch(`${tb.url}/api/v1/uploads?name=chr${chr}.vcf.gz`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(readFileSync(hg19(chr))),
    });
    expect(res.status).toBe(201);
    uris.push(((await res.json()) as { drs_uri: string }).drs_uri);
  }
}, 120_000);
afterAll(async () => {
  await tb?.close();
});

describe('POST /api/v1/routes/preview', () => {
  it('says where a run would go, why, and the failover order with the ineligible backends last', async () => {
    const res = await post('/api/v1/routes/preview', { workflow_params: { refpanel: 'hapmap-2', population: 'eur' }, detected_build: 'hg19' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { backend: string; reasons: string[]; candidates: { backend: string; eligible: boolean; reason: string }[] };
    expect(body.backend).toBe('mis2');
    expect(body.reasons[0]).toContain('Routed to mis2');
    expect(body.candidates[0]).toMatchObject({ backend: 'mis2', eligible: true });
    expect(body.candidates.at(-1)).toMatchObject({ backend: 'afrigen', eligible: false, reason: expect.stringContaining('hapmap-2') });
  });

  it('answers impossible parameters with the same 400 as POST /runs', async () => {
    const msg = await refused(await post('/api/v1/routes/preview', { workflow_params: { refpanel: 'nope' } }), 400, /Unknown reference panel 'nope'/);
    const wes = await submit(tb.url, token, { files: [hg19('20')], params: { refpanel: 'nope' } });
    expect(((await wes.json()) as { msg: string }).msg).toBe(msg);
    await refused(await post('/api/v1/routes/preview', { workflow_params: { refpanel: 'hapmap-2', backend: 'topmed' } }), 400, /Unknown backend 'topmed'/);
    await refused(await post('/api/v1/routes/preview', { workflow_params: { refpanel: 'hapmap-2', build: 'hg17' } }), 400, /Build 'hg17' is not offered/);
    await refused(await post('/api/v1/routes/preview', { workflow_params: { refpanel: 'hapmap-2', population: 'afr' } }), 400, /Population 'afr' is not supported/);
    await refused(await post('/api/v1/routes/preview', { workflow_params: { refpanel: 'hapmap-2', not_before: 'soon' } }), 400, /not_before/);
    await refused(await post('/api/v1/routes/preview', { workflow_params: 'x' }), 400, /workflow_params/);
    expect((await post('/api/v1/routes/preview', { workflow_params: {} }, 'not-a-token')).status).toBe(401);
  });
});

describe('batches', () => {
  let batchId: string;
  let runIds: string[];

  it('refuses the whole batch, naming each bad run by index, and stores nothing', async () => {
    const before = await runCount();
    const res = await post('/api/v1/batches', {
      name: 'bad',
      runs: [
        { workflow_params: { files: [uris[0]], refpanel: 'hapmap-2', population: 'eur' } },
        { workflow_params: { files: [uris[1]], refpanel: 'nope' } },
        { workflow_params: { files: ['chr20.vcf.gz'], refpanel: 'hapmap-2', population: 'eur' } },
        { workflow_params: { files: [uris[1]], refpanel: 'hapmap-2', population: 'eur', not_before: 'soon' } },
      ],
    });
    const msg = await refused(res, 400, /Nothing was submitted: 2 runs/);
    // The cheap checks come first: runs[1]'s panel is only looked at once every file name is fine.
    expect(msg).toContain('runs[2]: workflow_params.files must be a non-empty list of https URLs or drs:// URIs');
    expect(msg).toContain('runs[3]: workflow_params.not_before');
    const second = await post('/api/v1/batches', {
      runs: [
        { workflow_params: { files: [uris[0]], refpanel: 'hapmap-2', population: 'eur' } },
        { workflow_params: { files: [uris[1]], refpanel: 'nope' } },
        { workflow_params: { files: ['drs://localhost:1/does-not-exist'], refpanel: 'hapmap-2', population: 'eur' } },
      ],
    });
    const msg2 = await refused(second, 400, /Nothing was submitted/);
    expect(msg2).toContain("runs[1]: Unknown reference panel 'nope'");
    expect(msg2).toContain('runs[2]:');
    expect(msg2).not.toContain('runs[0]');
    expect(await runCount()).toBe(before);
    await refused(await post('/api/v1/batches', { runs: [] }), 400, /runs/);
    await refused(await post('/api/v1/batches', { runs: Array.from({ length: 501 }, () => ({ workflow_params: {} })) }), 400, /runs/);
  });

  it('accepts a batch whole: one batch id, every run queued with the batch tags, routing naming the batch', async () => {
    const res = await post('/api/v1/batches', {
      name: 'cohort A',
      tags: { project: 'alpha' },
      runs: [
        { workflow_params: { files: [uris[0]], refpanel: 'hapmap-2', population: 'eur' }, tags: { chr: '20' } },
        { workflow_params: { files: [uris[1]], refpanel: 'hapmap-2', population: 'eur' }, tags: { chr: '21' } },
        { workflow_params: { files: [uris[0]], refpanel: 'hapmap-2', population: 'eur', not_before: new Date(Date.now() + 86_400_000).toISOString() } },
      ],
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { batch_id: string; run_ids: string[] };
    batchId = body.batch_id;
    runIds = body.run_ids;
    expect(runIds).toHaveLength(3);
    const routing = await getJson<{ batch_id: string; not_before: string | null }>(`${tb.url}/api/v1/runs/${runIds[2]}/routing`, token);
    expect(routing.body.batch_id).toBe(batchId);
    expect(routing.body.not_before).not.toBeNull();
    const summary = await getJson<Summary>(`${tb.url}/api/v1/batches/${batchId}`, token);
    expect(summary.status).toBe(200);
    expect(summary.body).toMatchObject({ batch_id: batchId, name: 'cohort A', tags: { project: 'alpha' }, runs_total: 3, run_ids: runIds });
    expect(Object.values(summary.body.counts).reduce((a, b) => a + b, 0)).toBe(3);
    const list = await getJson<{ batches: Summary[]; next_page_token: string }>(`${tb.url}/api/v1/batches`, token);
    expect(list.body.batches.map((b) => b.batch_id)).toEqual([batchId]);
    expect(list.body.batches[0]!.run_ids).toBeUndefined();
  });

  it('lists the runs by batch, tag, state, backend and time, with X-Total-Count and stable pages', async () => {
    const wes = (q: string, who = token) => getJson<RunListResponse>(`${tb.url}/ga4gh/wes/v1/runs?${q}`, who);
    const byBatch = await wes(`batch=${batchId}`);
    expect(byBatch.headers.get('x-total-count')).toBe('3');
    expect(byBatch.body.runs!.map((r) => r.run_id)).toEqual([...runIds].reverse());
    const tagged = await wes('tag=project:alpha&tag=chr:21');
    expect(tagged.body.runs!.map((r) => r.run_id)).toEqual([runIds[1]]);
    expect(tagged.headers.get('x-total-count')).toBe('1');
    const queued = await wes(`batch=${batchId}&state=QUEUED,RUNNING&state=INITIALIZING`);
    expect(queued.body.runs!.map((r) => r.run_id)).toContain(runIds[2]);
    expect((await wes('backend=afrigen')).headers.get('x-total-count')).toBe('0');
    expect((await wes(`backend=mis2&batch=${batchId}`)).headers.get('x-total-count')).toBe('3');
    expect((await wes(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.runs).toEqual([]);
    expect((await wes(`until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&batch=${batchId}`)).body.runs).toHaveLength(3);
    // Keyset pages: one run per page, in order, whatever is added meanwhile.
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await wes(`batch=${batchId}&page_size=1${pageToken ? `&page_token=${pageToken}` : ''}`);
      expect(page.headers.get('x-total-count')).toBe('3');
      seen.push(...page.body.runs!.map((r) => r.run_id!));
      pageToken = page.body.next_page_token ?? '';
    } while (pageToken);
    expect(seen).toEqual([...runIds].reverse());
    // Another user sees none of them.
    const theirs = await wes(`batch=${batchId}`, other);
    expect(theirs.body.runs).toEqual([]);
    expect(theirs.headers.get('x-total-count')).toBe('0');
  });

  it('refuses bad list filters with a 400 that says what is valid', async () => {
    const bad = (q: string) => fetch(`${tb.url}/ga4gh/wes/v1/runs?${q}`, { headers: { Authorization: `Bearer ${token}` } });
    await refused(await bad('state=DONE'), 400, /state "DONE" is not a WES state.*QUEUED/);
    await refused(await bad('tag=project'), 400, /tag must be key:value/);
    await refused(await bad('batch=42'), 400, /batch "42" is not a batch id/);
    await refused(await bad('backend=MIS%202'), 400, /not a backend id/);
    await refused(await bad('since=yesterday'), 400, /since must be an ISO 8601/);
    await refused(await bad('since=2026-02-01&until=2026-01-01'), 400, /since must be before until/);
    await refused(await bad('backend=a&backend=b'), 400, /backend may be given once/);
  });

  it("cancels a batch's unfinished runs (audited) and hides the batch from other users", async () => {
    expect((await getJson(`${tb.url}/api/v1/batches/${batchId}`, other)).status).toBe(404);
    await refused(await post(`/api/v1/batches/${batchId}/cancel`, {}, other), 404, /was not found/);
    expect((await getJson<{ batches: Summary[] }>(`${tb.url}/api/v1/batches`, other)).body.batches).toEqual([]);
    expect((await getJson(`${tb.url}/api/v1/batches/not-a-uuid`, token)).status).toBe(404);
    const res = await post(`/api/v1/batches/${batchId}/cancel`, {});
    expect(res.status).toBe(200);
    const summary = (await res.json()) as Summary;
    expect(summary.batch_id).toBe(batchId);
    // A worker step in flight may write its last view once more; the cancel wins at its next look.
    const end = Date.now() + 60_000;
    let counts = summary.counts;
    while (Object.keys(counts).some((s) => !['CANCELED', 'CANCELING'].includes(s)) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      counts = (await getJson<Summary>(`${tb.url}/api/v1/batches/${batchId}`, token)).body.counts;
    }
    expect(Object.keys(counts).filter((s) => !['CANCELED', 'CANCELING'].includes(s))).toEqual([]);
    // The scheduled run was never sent anywhere: canceled at once.
    const [row] = (await tb.broker.deps.ds.query(`SELECT state FROM runs WHERE id = $1`, [runIds[2]])) as { state: string }[];
    expect(row!.state).toBe('CANCELED');
    const audit = (await tb.broker.deps.ds.query(`SELECT object_id, details FROM audit_events WHERE action = 'batch.canceled'`)) as { object_id: string; details: { runs: number } }[];
    expect(audit).toEqual([{ object_id: batchId, details: { runs: 3 } }]);
  });
});
