/**
 * Uploads: one file at a time, checked on the way in, kept as the caller's DRS object, named in
 * runs by `drs://` URI; refusals keep nothing; uploads expire while runs keep their inputs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunLog } from '@ibroker/api-spec/index';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit, terminal, waitForState } from '../testing/wes-client';

const hg19 = (chr: string) => join(import.meta.dirname, '../../../demo/data/hg19', `chr${chr}.vcf.gz`);
const params = { refpanel: 'hapmap-2', population: 'eur', build: 'hg19' };

let tb: TestBroker;
let token: string;
let other: string;

interface Upload {
  id: string;
  drs_uri: string;
  name: string;
  size: number;
  sha256: string;
  vcf?: { samples: number; chromosomes: string[]; variants: number; phased: boolean | null; build: string | null };
}

const upload = (name: string, body: Uint8Array | string, who = token) =>
  fetch(`${tb.url}/api/v1/uploads?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${who}`, 'Content-Type': 'application/octet-stream' },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
const blobCount = async () => ((await tb.broker.deps.ds.query(`SELECT count(DISTINCT blob_key)::int AS n FROM objects`)) as [{ n: number }])[0].n;

async function refused(res: Response, status: number, msg: RegExp): Promise<void> {
  const body = (await res.json()) as { msg: string; status_code: number };
  expect({ status: res.status, code: body.status_code }).toEqual({ status, code: status });
  expect(body.msg).toMatch(msg);
}

beforeAll(async () => {
  tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], env: { MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) } });
  token = await tb.token('demo-cli');
  other = await tb.token('demo-cli-2');
});
afterAll(async () => {
  await tb?.close();
});

describe('POST /api/v1/uploads', () => {
  it('stores a VCF with its checksums and what the pre-flight check read, as a DRS object of the caller', async () => {
    const bytes = readFileSync(hg19('20'));
    const res = await upload('chr20.vcf.gz', bytes);
    expect(res.status).toBe(201);
    const u = (await res.json()) as Upload;
    expect(u).toMatchObject({ name: 'chr20.vcf.gz', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(u.vcf).toEqual({ samples: 60, chromosomes: ['20'], variants: expect.any(Number), phased: expect.any(Boolean), build: 'hg19' });
    expect(u.drs_uri).toBe(`drs://${new URL(tb.url).host}/${u.id}`);
    const drs = await fetch(`${tb.url}/ga4gh/drs/v1/objects/${u.id}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(drs.status).toBe(200);
    expect((await fetch(`${tb.url}/ga4gh/drs/v1/objects/${u.id}`, { headers: { Authorization: `Bearer ${other}` } })).status).toBe(404);
  });

  it('refuses what would fail the run, keeping nothing: not gzip, plain gzip, a bad name, too large, no body', async () => {
    const before = await blobCount();
    await refused(await upload('chr20.vcf.gz', 'not a vcf at all'), 400, /chr20\.vcf\.gz/);
    await refused(await upload('chr20.vcf.gz', gzipSync(readFileSync(hg19('20')).subarray(0, 10))), 400, /chr20\.vcf\.gz/);
    await refused(await upload('../etc/passwd.vcf.gz', readFileSync(hg19('20'))), 400, /not allowed/);
    await refused(await upload('chr20.vcf', readFileSync(hg19('20'))), 400, /\.vcf\.gz/);
    await refused(await upload('big.vcf.gz', Buffer.alloc(3 * 1024 * 1024, 1)), 413, /limit/);
    const none = await fetch(`${tb.url}/api/v1/uploads?name=x.vcf.gz`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(none.status).toBe(400);
    const noName = await fetch(`${tb.url}/api/v1/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: 'x' });
    expect(noName.status).toBe(400);
    expect(await blobCount()).toBe(before);
  });

  it('needs a token and the right to submit runs', async () => {
    expect((await fetch(`${tb.url}/api/v1/uploads?name=a.vcf.gz`, { method: 'POST', body: 'x' })).status).toBe(401);
  });
});

describe('uploads in runs', () => {
  it('a run names uploads by drs:// URI; another user cannot; the list and delete touch only the caller’s', async () => {
    const uploads: Upload[] = [];
    for (const chr of ['20', '21']) uploads.push((await (await upload(`chr${chr}.vcf.gz`, readFileSync(hg19(chr)))).json()) as Upload);
    const res = await submit(tb.url, token, { params: { ...params, files: uploads.map((u) => u.drs_uri) } });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    const log: RunLog = await waitForState(tb.url, token, run_id, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    const inputs = (log.outputs as { inputs: { name: string; sha256: string }[] }).inputs;
    expect(inputs.map((i) => [i.name, i.sha256])).toEqual(uploads.map((u) => [u.name, u.sha256]));

    const theirs = await submit(tb.url, other, { params: { ...params, files: [uploads[0]!.drs_uri] } });
    await refused(theirs, 400, /was not found/);

    const listed = (await (await fetch(`${tb.url}/api/v1/uploads`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { uploads: Upload[] };
    expect(listed.uploads.map((u) => u.id)).toEqual(expect.arrayContaining(uploads.map((u) => u.id)));
    const otherList = (await (await fetch(`${tb.url}/api/v1/uploads`, { headers: { Authorization: `Bearer ${other}` } })).json()) as { uploads: Upload[] };
    expect(otherList.uploads).toEqual([]);

    const del = (id: string, who: string) => fetch(`${tb.url}/api/v1/uploads/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${who}` } });
    await refused(await del(uploads[0]!.id, other), 404, /no upload/);
    expect((await del(uploads[0]!.id, token)).status).toBe(204);
    await refused(await del(uploads[0]!.id, token), 404, /no upload/);
    // The run keeps its own inputs, bytes included.
    const input = (log.outputs as { inputs: { drs_uri: string }[] }).inputs[0]!.drs_uri.split('/').pop();
    const bytes = await fetch(`${tb.url}/api/v1/objects/${input}/content`, { headers: { Authorization: `Bearer ${token}` } });
    expect(createHash('sha256').update(Buffer.from(await bytes.arrayBuffer())).digest('hex')).toBe(uploads[0]!.sha256);
  });

  it('expiry removes old uploads and the bytes nothing else uses', async () => {
    const u = (await (await upload('chr22.vcf.gz', readFileSync(hg19('22')))).json()) as Upload;
    const before = await blobCount();
    expect(await tb.broker.deps.objects.expireUploads(3600_000)).toBe(0);
    await tb.broker.deps.ds.query(`UPDATE objects SET created_at = now() - interval '2 hours' WHERE id = $1`, [u.id]);
    expect(await tb.broker.deps.objects.expireUploads(3600_000)).toBe(1);
    expect(await blobCount()).toBe(before - 1);
    expect((await fetch(`${tb.url}/ga4gh/drs/v1/objects/${u.id}`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404);
  });
});
