import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobReader, ZipReader } from '@zip.js/zip.js';
import { cohort, DEFAULT_FIELDS, getJson, singleVcf, startHarness, submit, waitForState, finished, type Harness } from './test-helpers';

type Json = Record<string, unknown>;
interface FileEntry { name: string; hash: string; count: number }
const filesOf = (job: Json): FileEntry[] => ((job.outputParams as Json[])[0]?.files ?? []) as FileEntry[];
const stepMessages = (job: Json, i: number): { message: string; type: number }[] =>
  ((job.steps as Json[])[i]?.logMessages ?? []) as { message: string; type: number }[];

async function submitOk(h: Harness, fields: Json, files: string[], token = h.token): Promise<string> {
  const res = await submit(h, token, fields as Record<string, string>, files);
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

describe('auth, server and app routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('logs in, creates and supersedes API tokens', async () => {
    const bad = await fetch(`${h.base}/login`, { method: 'POST', body: new URLSearchParams({ username: 'jdoe', password: 'x' }) });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ message: 'Login Failed! Wrong Username or Password.' });
    const ok = await fetch(`${h.base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'jdoe', password: 'secret1' }) });
    const login = (await ok.json()) as Json;
    expect(Object.keys(login)).toEqual(['username', 'roles', 'access_token', 'token_type', 'expires_in']);
    expect(login.expires_in).toBe(86400);
    const loginToken = String(login.access_token);

    // API tokens cannot create API tokens.
    const viaApi = await fetch(`${h.base}/api/v2/users/jdoe/api-token`, { method: 'POST', headers: { 'X-Auth-Token': h.token } });
    expect(viaApi.status).toBe(403);
    const created = await fetch(`${h.base}/api/v2/users/jdoe/api-token?expiration=1`, { method: 'POST', headers: { 'X-Auth-Token': loginToken } });
    const body = (await created.json()) as Json;
    expect(body).toMatchObject({ success: true, message: 'Creation successfull.', type: 0, time: 0 });
    // The old token is superseded → 403; garbage → 401; no header → 401; Bearer prefix is not understood.
    expect((await getJson(h, '/api/v2/jobs', h.token)).status).toBe(403);
    expect((await getJson(h, '/api/v2/jobs', 'garbage')).status).toBe(401);
    expect((await getJson(h, '/api/v2/jobs')).status).toBe(401);
    const bearer = await fetch(`${h.base}/api/v2/jobs`, { headers: { Authorization: `Bearer ${String(body.token)}` } });
    expect(bearer.status).toBe(401);
    expect((await getJson(h, '/api/v2/jobs', String(body.token))).status).toBe(200);
    const invalid = await fetch(`${h.base}/api/v2/tokens/verify`, { method: 'POST', body: new URLSearchParams({ token: h.token }) });
    expect(await invalid.json()).toMatchObject({ valid: false, message: 'Invalid API Token.', username: null, name: null, mail: null });
    const profile = await getJson(h, '/api/v2/users/whoever/profile', String(body.token));
    expect(profile.body).toMatchObject({ username: 'jdoe', hasApiToken: true, apiTokenValid: true, admin: false });
    const revoke = await fetch(`${h.base}/api/v2/users/jdoe/api-token`, { method: 'DELETE', headers: { 'X-Auth-Token': loginToken } });
    expect(revoke.status).toBe(200);
    expect((await getJson(h, '/api/v2/jobs', String(body.token))).status).toBe(403);
    h.token = await h.sim.createApiToken('jdoe');
  });

  it('serves the server root (with the maintenace typo) and the app in both id forms', async () => {
    const anon = await getJson(h, '/api/v2/server');
    expect(anon.body).toMatchObject({ loggedIn: false, apps: [], maintenace: false });
    expect(anon.body.user).toBeUndefined();
    const server = await getJson(h, '/api/v2/server', h.token);
    expect(server.body.apps).toEqual([{ id: 'imputationserver2@2.0.12', name: 'Genotype Imputation', version: '2.0.12' }]);
    const a = await getJson(h, '/api/v2/server/apps/imputationserver2', h.token);
    const b = await getJson(h, '/api/v2/server/apps/imputationserver2@2.0.12', h.token);
    expect(a.body).toEqual(b.body);
    const params = a.body.params as Json[];
    expect(params.map((p) => p.id)).not.toContain('password');
    const refpanel = params.find((p) => p.id === 'refpanel') as Json;
    for (const v of refpanel.values as Json[]) expect(String(v.value)).toMatch(/\((GRCh37\/hg19|GRCh38\/hg38)\)$/);
    expect(params.find((p) => p.id === 'myseparator')).not.toHaveProperty('description');
    const missing = await getJson(h, '/api/v2/server/apps/imputationserver3', h.token);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('Application imputationserver3 not found or the request requires user authentication.');
  });
});

describe('submission rules and job errors', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('rejects unknown apps and unknown fields, strips input-, accepts -pattern fields', async () => {
    const files = await cohort(h.dir);
    const noApp = await submit(h, h.token, DEFAULT_FIELDS, files, 'imputationserver3');
    expect(noApp.status).toBe(404);
    expect(await noApp.json()).toEqual({ message: "Application 'imputationserver3' not found.", success: false });
    const unknown = await submit(h, h.token, { ...DEFAULT_FIELDS, 'files-source': 'http' }, files);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ message: "Parameter 'files-source' not found.", success: false });
    const prefixed = await submit(h, h.token, { 'input-refpanel': 'apps@hapmap-2', 'input-population': 'eur', 'files-pattern': '*.vcf.gz', password: 'pw' }, files);
    expect(prefixed.status).toBe(200);
    const job = await waitForState(h, h.token, ((await prefixed.json()) as { id: string }).id, finished);
    expect(job.state).toBe(4);
  });

  it('treats a present checkbox as on: aesEncryption=false gives AES zips', async () => {
    const files = await cohort(h.dir);
    const id = await submitOk(h, { ...DEFAULT_FIELDS, aesEncryption: 'false', password: 'P4ss' }, files);
    const job = await waitForState(h, h.token, id, finished);
    const zip = filesOf(job).find((f) => f.name.endsWith('.zip')) as FileEntry;
    const blob = await (await fetch(`${h.base}/share/results/${zip.hash}/${zip.name}`)).blob();
    const entries = await new ZipReader(new BlobReader(blob), { password: 'P4ss' }).getEntries();
    expect(entries[0]?.encrypted).toBe(true);
    expect(entries[0]?.zipCrypto).toBe(false);
    const id2 = await submitOk(h, { ...DEFAULT_FIELDS, password: 'P4ss' }, files);
    const job2 = await waitForState(h, h.token, id2, finished);
    const zip2 = filesOf(job2).find((f) => f.name.endsWith('.zip')) as FileEntry;
    const blob2 = await (await fetch(`${h.base}/share/results/${zip2.hash}/${zip2.name}`)).blob();
    const entries2 = await new ZipReader(new BlobReader(blob2), { password: 'P4ss' }).getEntries();
    expect(entries2[0]?.zipCrypto).toBe(true);
  });

  it('HTML-escapes the password and generates one when absent', async () => {
    const files = await cohort(h.dir);
    const id = await submitOk(h, { ...DEFAULT_FIELDS, password: 'a&b' }, files);
    const job = await waitForState(h, h.token, id, finished);
    expect(stepMessages(job, 3).at(-1)?.message).toContain('<b>a&amp;b</b>');
    const { password: _p, ...rest } = DEFAULT_FIELDS;
    const id2 = await submitOk(h, rest, files);
    const job2 = await waitForState(h, h.token, id2, finished);
    expect(stepMessages(job2, 3).at(-1)?.message).toMatch(/following password: <b>[A-Za-z0-9]{16}<\/b>$/);
  });

  it('fails validation like Cloudgene: encoding, population, missing population, not VCF, too few samples', async () => {
    const cases: [Json, string[], string][] = [
      [{ ...DEFAULT_FIELDS }, await cohort(h.dir, { build: 'hg38' }), "Your upload data contains chromosome 'chr20'. This is not a valid hg19 encoding. Please ensure that your input data is build hg19 and chromosome is encoded as '20'."],
      [{ ...DEFAULT_FIELDS, population: 'afr' }, await cohort(h.dir), "Population 'afr' is not supported by reference panel 'hapmap2'."],
      [{ ...DEFAULT_FIELDS, population: '' }, await cohort(h.dir), "Expected parameter for option '--population' but found '--phasing'"],
      [{ ...DEFAULT_FIELDS }, [], 'The provided files are not VCF files (see <a href="/start.html#!pages/help">Help</a>).'],
      [{ ...DEFAULT_FIELDS }, await cohort(h.dir, { samples: 5 }), 'At least 20 samples must be uploaded.'],
      [{ ...DEFAULT_FIELDS, phasing: 'no_phasing' }, await cohort(h.dir), 'Your input data is unphased. Please select an algorithm for phasing.'],
    ];
    for (const [fields, files, message] of cases) {
      const id = await submitOk(h, fields, files);
      const job = await waitForState(h, h.token, id, finished);
      expect(job.state).toBe(5);
      expect(stepMessages(job, 0)).toEqual([expect.objectContaining({ message, type: 1 })]);
      expect(stepMessages(job, 3).map((m) => m.message)).toEqual(['Pipeline execution failed.', 'Imputation job failed.']);
      expect(filesOf(job)).toEqual([]);
    }
  });

  it('fails QC when no chunk has enough SNPs, still exporting the QC files', async () => {
    const file = await singleVcf(h.dir, 'chr20.vcf.gz', '20', 25, 2);
    const id = await submitOk(h, DEFAULT_FIELDS, [file]);
    const job = await waitForState(h, h.token, id, finished);
    expect(job.state).toBe(5);
    const qc = stepMessages(job, 1);
    const error = qc.find((m) => m.type === 1);
    expect(error?.message).toMatch(/<b>Warning:<\/b> 1 Chunk\(s\) excluded: < 3 SNPs \(see chunks-excluded.txt for details\)\.\n\nRemaining chunk\(s\): 0\n\n<b>Error:<\/b> No chunks passed the QC step\. Imputation cannot be started!$/);
    expect(filesOf(job).map((f) => f.name)).toContain('qc_report.txt');
  });

  it('accepts an unknown panel with 200, then fails with empty steps and the reason only in the log', async () => {
    const id = await submitOk(h, { ...DEFAULT_FIELDS, refpanel: 'apps@H3AFRICA v6' }, await cohort(h.dir));
    const job = (await getJson(h, `/api/v2/jobs/${id}`, h.token)).body;
    expect(job.state).toBe(5);
    expect(job.steps).toEqual([]);
    const log = await fetch(`${h.base}/logs/${id}`, { headers: { 'X-Auth-Token': h.token } });
    expect(log.headers.get('content-type')).toContain('text/plain');
    expect(await log.text()).toContain('Initialization failed: Application H3AFRICA v6 is not installed or wrong permissions.');
  });

  it('answers 404/403 for unknown and foreign jobs, 400 for restarting a live job', async () => {
    const nf = await getJson(h, '/api/v2/jobs/job-20990101-000000-000', h.token);
    expect(nf).toEqual({ status: 404, body: { message: 'Job job-20990101-000000-000 not found.', success: false } });
    const id = await submitOk(h, DEFAULT_FIELDS, await cohort(h.dir));
    for (const p of ['', '/status', '/cancel', '/restart']) {
      expect(await getJson(h, `/api/v2/jobs/${id}${p}`, h.otherToken)).toEqual({ status: 403, body: { message: 'Access denied.', success: false } });
    }
    expect((await getJson(h, `/api/v2/jobs/${id}`, h.adminToken)).status).toBe(200);
    await waitForState(h, h.token, id, finished);
    expect(await getJson(h, `/api/v2/jobs/${id}/restart`, h.token)).toEqual({ status: 400, body: { message: `Job ${id} is not pending.`, success: false } });
    // Cancel of a finished job returns it unchanged.
    expect((await getJson(h, `/api/v2/jobs/${id}/cancel`, h.token)).body.state).toBe(4);
    // DELETE needs a login token.
    expect((await fetch(`${h.base}/api/v2/jobs/${id}`, { method: 'DELETE', headers: { 'X-Auth-Token': h.token } })).status).toBe(403);
    const login = await h.sim.login('jdoe');
    const del = await fetch(`${h.base}/api/v2/jobs/${id}`, { method: 'DELETE', headers: { 'X-Auth-Token': login } });
    expect(((await del.json()) as Json).state).toBe(10);
  });

  it('counts downloads down and refuses at zero; unknown hashes are 404', async () => {
    const id = await submitOk(h, DEFAULT_FIELDS, await cohort(h.dir));
    const job = await waitForState(h, h.token, id, finished);
    const f = filesOf(job).find((x) => x.name === 'qc_report.txt') as FileEntry;
    for (let i = 0; i < 10; i++) expect((await fetch(`${h.base}/share/results/${f.hash}/qc_report.txt`)).status).toBe(200);
    const over = await fetch(`${h.base}/share/results/${f.hash}/qc_report.txt`);
    expect(over.status).toBe(400);
    expect(await over.json()).toEqual({ message: 'number of max downloads exceeded.', success: false });
    const unknown = await fetch(`${h.base}/share/results/${'0'.repeat(64)}/x`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'download not found.', success: false });
    const after = await getJson(h, `/api/v2/jobs/${id}`, h.token);
    expect(filesOf(after.body).find((x) => x.name === 'qc_report.txt')?.count).toBe(0);
  });

  it('retires on demand: state 7 and downloads gone', async () => {
    const id = await submitOk(h, DEFAULT_FIELDS, await cohort(h.dir));
    const job = await waitForState(h, h.token, id, finished);
    const f = filesOf(job)[0] as FileEntry;
    await h.sim.retire(id);
    const after = await getJson(h, `/api/v2/jobs/${id}`, h.token);
    expect(after.body.state).toBe(7);
    expect(filesOf(after.body)).toEqual([]);
    expect((await fetch(`${h.base}/share/results/${f.hash}/${f.name}`)).status).toBe(404);
  });
});

describe('slow jobs: queue, limits, cancel, dead, maintenance', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      serverConcurrency: 1,
      timing: { queue: 0, validation: 1500, qc: 0, phasing: 0, imputation: 0, compression: 0, export: 0 },
    });
  });
  afterAll(async () => h.close());

  it('queues beyond server concurrency, limits per user, cancels and restarts dead jobs', async () => {
    const files = await cohort(h.dir);
    const a = await submitOk(h, DEFAULT_FIELDS, files);
    const b = await submitOk(h, DEFAULT_FIELDS, files);
    const third = await submit(h, h.token, DEFAULT_FIELDS, files);
    expect(third.status).toBe(400);
    expect(await third.json()).toEqual({ message: 'Only 2 jobs per user can be executed simultaneously.', success: false });
    const c = await submitOk(h, DEFAULT_FIELDS, files, h.otherToken);
    await new Promise((r) => setTimeout(r, 100));
    const ja = (await getJson(h, `/api/v2/jobs/${a}`, h.token)).body;
    const jb = (await getJson(h, `/api/v2/jobs/${b}`, h.token)).body;
    const jc = (await getJson(h, `/api/v2/jobs/${c}`, h.otherToken)).body;
    expect(ja).toMatchObject({ state: 2, positionInQueue: 0, endTime: 0 });
    expect(stepMessages(ja, 0)).toEqual([expect.objectContaining({ message: 'Processing data...', type: 3 })]);
    expect(jb).toMatchObject({ state: 1, positionInQueue: 0, startTime: 0, steps: [] });
    expect(jc).toMatchObject({ state: 1, positionInQueue: 1 });

    const canceled = (await getJson(h, `/api/v2/jobs/${a}/cancel`, h.token)).body;
    expect(canceled.state).toBe(6);
    expect(stepMessages(canceled, 3).map((m) => m.message)).toEqual(['Pipeline execution canceled.', 'Imputation job canceled.']);
    expect(stepMessages(canceled, 0)).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect((await getJson(h, `/api/v2/jobs/${b}`, h.token)).body.state).toBe(2);

    const dead = h.sim.killRunningJobs();
    expect(dead.sort()).toEqual([b, c].sort());
    expect((await getJson(h, `/api/v2/jobs/${b}`, h.token)).body.state).toBe(-1);
    const restarted = await getJson(h, `/api/v2/jobs/${b}/restart`, h.token);
    expect(restarted.body).toEqual({ success: true, message: 'Your job was successfully added to the job queue.', type: 0, time: 0 });
    const done = await waitForState(h, h.token, b, finished);
    expect(done.state).toBe(4);
  });

  it('answers 503 on job routes in maintenance, except for admins', async () => {
    h.sim.setMaintenance(true);
    expect(await getJson(h, '/api/v2/jobs', h.token)).toEqual({ status: 503, body: { message: 'This functionality is currently under maintenance.', success: false } });
    expect((await submit(h, h.token, DEFAULT_FIELDS, [])).status).toBe(503);
    expect((await getJson(h, '/api/v2/jobs', h.adminToken)).status).toBe(200);
    expect((await getJson(h, '/api/v2/server', h.token)).body.maintenace).toBe(true);
    h.sim.setMaintenance(false);
    expect((await getJson(h, '/api/v2/jobs', h.token)).status).toBe(200);
  });
});

describe('retention and faults', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ retentionMs: 600 });
  });
  afterAll(async () => h.close());

  it('moves SUCCESS to 8 with deletedOn, then 7 with files gone', async () => {
    const id = await submitOk(h, DEFAULT_FIELDS, await cohort(h.dir));
    const job = await waitForState(h, h.token, id, finished);
    expect(job.state).toBe(4);
    const notified = await waitForState(h, h.token, id, (s) => s === 8, 3000);
    expect(notified.deletedOn).toBe((notified.endTime as number) + 600);
    const retired = await waitForState(h, h.token, id, (s) => s === 7, 3000);
    expect(filesOf(retired)).toEqual([]);
  });

  it('injects 500s, dropped connections and latency, changeable at run time', async () => {
    h.sim.setFaults({ errorRate: 1 });
    const res = await fetch(`${h.base}/api/v2/server`);
    expect(res.status).toBe(500);
    h.sim.setFaults({ errorRate: 0, dropRate: 1 });
    await expect(fetch(`${h.base}/api/v2/server`)).rejects.toThrow();
    h.sim.setFaults({ dropRate: 0, latencyMs: 150 });
    const t0 = Date.now();
    expect((await fetch(`${h.base}/api/v2/server`)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    h.sim.setFaults({ latencyMs: 0 });
  });
});
