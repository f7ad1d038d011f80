/**
 * Replays imputationbot 2.1.0's call sequence (shared/backends/README.md §2) and checks every field
 * it reads with the type its Java code asks for (getString/getBoolean/getLong/getInt).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { BlobReader, ZipReader } from '@zip.js/zip.js';
import { cohort, startHarness, type Harness } from './test-helpers';

const UA = 'imputation-bot 2.1.0 (OS: Linux, Java: 17.0.9)';
const SKIPPED = new Set(['mode', 'separator', 'terms_checkbox', 'info', 'group', 'agbcheckbox']);

type Json = Record<string, unknown>;

describe('imputationbot call sequence', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const get = async (path: string, token = h.token): Promise<Response> =>
    fetch(`${h.base}${path}`, { headers: { 'X-Auth-Token': token, 'User-Agent': UA } });

  it('verifies the token, discovers the app, submits, polls and downloads like imputationbot', async () => {
    // 1. token check
    const verify = await fetch(`${h.base}/api/v2/tokens/verify`, { method: 'POST', body: new URLSearchParams({ token: h.token }), headers: { 'User-Agent': UA } });
    expect(verify.status).toBe(200);
    const v = (await verify.json()) as Json;
    expect(v.valid).toBe(true);
    expect(typeof v.message).toBe('string');
    expect(v.expire).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/);
    const daysLeft = (Date.parse(v.expire as string) - Date.now()) / 86400_000;
    expect(daysLeft).toBeGreaterThan(29);

    // 2. server + default app
    const server = (await (await get('/api/v2/server')).json()) as Json;
    expect(typeof server.name).toBe('string');
    const user = server.user as Json;
    expect(typeof user.username).toBe('string');
    expect(typeof user.mail).toBe('string');
    expect(typeof user.name).toBe('string');
    const apps = server.apps as Json[];
    const app = apps.find((a) => String(a.id).split('@')[0] === 'imputationserver2');
    expect(app).toBeDefined();
    const appRes = await get(`/api/v2/server/apps/${String(app?.id)}`);
    expect(appRes.status).toBe(200);
    const appJson = (await appRes.json()) as Json;
    const [maj, min, pat] = String(appJson.version).split('.').map(Number);
    expect((maj ?? 0) * 10000 + (min ?? 0) * 100 + (pat ?? 0)).toBeGreaterThanOrEqual(10201);
    expect(appJson.id).toBe('imputationserver2');
    expect(typeof appJson.name).toBe('string');

    // 3. build the form from params as CommandlineOptionsUtil.createForm does
    const form = new FormData();
    const chosen: Record<string, string> = { refpanel: 'hapmap-2', population: 'eur', build: 'hg19', phasing: 'eagle', r2Filter: '0', aesEncryption: 'no', meta: 'no' };
    let panelKey = '';
    const files = await cohort(h.dir, { chromosomes: ['20'] });
    for (const p of appJson.params as Json[]) {
      expect(typeof p.id).toBe('string');
      expect(typeof p.type).toBe('string');
      expect(typeof p.value).toBe('string');
      if (SKIPPED.has(String(p.type)) || SKIPPED.has(String(p.id))) continue;
      expect(typeof p.description).toBe('string');
      expect(typeof p.required).toBe('boolean');
      const id = String(p.id);
      const values = (p.values ?? []) as Json[];
      switch (p.type) {
        case 'app_list': {
          const match = values.find((x) => String(x.key).split('@')[1] === chosen[id]);
          expect(match).toBeDefined();
          panelKey = String(match?.key);
          form.append(id, panelKey);
          break;
        }
        case 'list':
          expect(values.map((x) => x.key)).toContain(chosen[id]);
          form.append(id, chosen[id] ?? String(p.value));
          break;
        case 'binded_list': {
          const entry = values.find((x) => x.key === panelKey);
          expect(((entry?.values ?? []) as Json[]).map((x) => x.key)).toContain(chosen[id]);
          form.append(id, chosen[id] ?? '');
          break;
        }
        case 'local_folder':
          for (const f of files) form.append('files', await openAsBlob(f), f.split('/').at(-1));
          break;
        case 'checkbox': {
          const on = values.find((x) => x.key === 'true');
          const wanted = chosen[id];
          if (wanted !== undefined && wanted === on?.value) form.append(id, wanted);
          break;
        }
        default:
          throw new Error(`unexpected param type ${String(p.type)}`);
      }
    }
    form.append('mode', 'imputation');
    form.append('password', 'Bot4Pass9');
    form.append('job-name', 'bot-job');

    // 4. submit to the app id without version
    const submitted = await fetch(`${h.base}/api/v2/jobs/submit/${String(appJson.id)}`, {
      method: 'POST',
      headers: { 'X-Auth-Token': h.token, 'User-Agent': UA },
      body: form,
    });
    expect(submitted.status).toBe(200);
    const { id } = (await submitted.json()) as { id: string };

    // 5. find the job, then poll /status while running
    expect((await get(`/api/v2/jobs/${id}`)).status).toBe(200);
    let job: Json;
    for (;;) {
      job = (await (await get(`/api/v2/jobs/${id}/status`)).json()) as Json;
      expect(typeof job.id).toBe('string');
      expect(typeof job.name).toBe('string');
      expect(typeof job.application).toBe('string');
      for (const k of ['positionInQueue', 'submittedOn', 'startTime', 'endTime', 'state']) expect(Number.isInteger(job[k])).toBe(true);
      expect(Array.isArray(job.outputParams)).toBe(true);
      if (![1, 2, 3].includes(job.state as number)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job.state).toBe(4);
    expect(job.userAgent).toBe(UA);

    // 6. download every file twice without token, then unzip with the password
    const out = await mkdtemp(join(h.dir, 'bot-out-'));
    let zips = 0;
    for (const param of job.outputParams as Json[]) {
      for (const f of param.files as Json[]) {
        const url = `${h.base}/share/results/${String(f.hash)}/${String(f.name)}`;
        const first = await fetch(url, { headers: { 'User-Agent': UA } });
        expect(first.status).toBe(200);
        const bytes = new Uint8Array(await first.arrayBuffer());
        const second = await fetch(url, { headers: { 'User-Agent': UA } });
        expect(second.status).toBe(200);
        expect(Number(second.headers.get('content-length'))).toBe(bytes.length);
        await second.body?.cancel();
        if (!String(f.name).endsWith('.zip')) continue;
        zips++;
        const path = join(out, String(param.name), String(f.name));
        await mkdir(join(out, String(param.name)), { recursive: true });
        await writeFile(path, bytes);
        const reader = new ZipReader(new BlobReader(new Blob([bytes])), { password: 'Bot4Pass9' });
        const names = (await reader.getEntries()).map((e) => e.filename);
        await reader.close();
        const n = String(f.name).replace(/^chr_/, '').replace(/\.zip$/, '');
        expect(names).toEqual(expect.arrayContaining([`chr${n}.dose.vcf.gz`, `chr${n}.info.gz`]));
        // ZipCrypto as 7z writes it must open with a standard tool too (imputationbot uses zip4j).
        const listing = execFileSync('unzip', ['-P', 'Bot4Pass9', '-t', path]).toString();
        expect(listing).toContain('No errors detected');
      }
    }
    expect(zips).toBe(1);
    const after = (await (await get(`/api/v2/jobs/${id}`)).json()) as Json;
    const counts = ((after.outputParams as Json[])[0]?.files as Json[]).map((f) => f.count);
    expect(counts.every((c) => c === 8)).toBe(true);
  });
});
