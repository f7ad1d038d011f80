/**
 * GA4GH DRS end to end on a real broker: a run on the Cloudgene simulator brings its results
 * home, and every input and result is then a DRS object whose checksums equal the bytes served,
 * readable by exactly the callers the policy allows, through bearer tokens, passports in the body
 * and signed links.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessURL, BulkAccessURLsResponse, BulkObjectsResponse, DrsObject, DrsServiceInfo, RunLog } from '@ibroker/api-spec/index';
import { userTokens } from '../dev/test-support';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit, terminal, waitForState } from '../testing/wes-client';
import { bundleChecksum } from './bundles';

const demo = (chr: string) => join(import.meta.dirname, '../../../demo/data/hg19', `chr${chr}.vcf.gz`);
const params = { refpanel: 'hapmap-2', population: 'eur', build: 'hg19' };

let tb: TestBroker;
const tokens: Record<string, string> = {};
/** demo-cli's run, untagged: private to demo-cli. */
let privateRun: RunLog;
/** demo-cli's run tagged with the dataset `demo`. */
let datasetRun: RunLog;

interface OutputEntry {
  name: string;
  size: number;
  sha256: string;
  md5: string;
  url: string;
  drs_uri: string;
  extracted?: OutputEntry[];
}
interface Outputs {
  drs_uri: string;
  files: OutputEntry[];
  inputs: { name: string; size: number; sha256: string; drs_uri: string }[];
}

const drs = () => `${tb.url}/ga4gh/drs/v1`;
const idOf = (uri: string) => uri.split('/').pop()!;
const outputsOf = (log: RunLog) => log.outputs as unknown as Outputs;
const bearer = (who: string): Record<string, string> => ({ Authorization: `Bearer ${tokens[who]}` });

async function json<T>(res: Response): Promise<T> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as T;
}

async function expectError(res: Response, status: number, msg?: RegExp): Promise<string> {
  const body = await json<{ msg: string; status_code: number }>(res);
  expect({ status: res.status, code: body.status_code }).toEqual({ status, code: status });
  expect(body.msg.length).toBeGreaterThan(10);
  if (msg) expect(body.msg).toMatch(msg);
  return body.msg;
}

const getObject = (id: string, who: string | null, query = '') =>
  fetch(`${drs()}/objects/${id}${query}`, { headers: who ? bearer(who) : {} });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${drs()}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

async function passportOf(user: string): Promise<string> {
  const oidc = tb.broker.devOidc!;
  const res = await fetch(oidc.tokenEndpoint, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from('portal-server:portal-server-secret').toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_token_type: 'urn:ga4gh:params:oauth:token-type:passport',
      subject_token: tokens[user]!,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function runToCompletion(token: string, files: string[], extra: Record<string, string> = {}): Promise<RunLog> {
  const res = await submit(tb.url, token, { files, params, fields: extra });
  expect(res.status).toBe(200);
  const { run_id } = (await res.json()) as { run_id: string };
  const log = await waitForState(tb.url, token, run_id, terminal, 90_000);
  expect(log.state).toBe('COMPLETE');
  return log;
}

beforeAll(async () => {
  tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }] });
  tokens['demo-cli'] = await tb.token('demo-cli');
  tokens['demo-cli-2'] = await tb.token('demo-cli-2');
  const redirectUri = `${tb.url}/auth/callback`;
  for (const u of ['alice', 'bob', 'admin']) tokens[u] = (await userTokens(tb.broker.devOidc!, { username: u, password: u, redirectUri })).access_token;
  [privateRun, datasetRun] = await Promise.all([
    runToCompletion(tokens['demo-cli']!, [demo('20'), demo('21')]),
    runToCompletion(tokens['demo-cli']!, [demo('20')], { tags: JSON.stringify({ dataset: 'demo' }) }),
  ]);
}, 180_000);
afterAll(async () => {
  await tb?.close();
});

describe('what becomes an object', () => {
  it('RunLog.outputs names the run bundle, every result and the files inside each zip by drs:// URI', () => {
    const out = outputsOf(privateRun);
    const host = new URL(tb.url).host;
    expect(out.drs_uri).toMatch(new RegExp(`^drs://${host.replace('.', '\\.')}/[0-9a-f-]{36}$`));
    const names = out.files.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['chr_20.zip', 'chr_21.zip', 'qc_report.txt']));
    for (const f of out.files) expect(f.drs_uri).toMatch(/^drs:\/\/.+\/[0-9a-f-]{36}$/);
    const zip = out.files.find((f) => f.name === 'chr_20.zip')!;
    expect(zip.extracted?.map((m) => m.name).sort()).toEqual(['chr20.dose.vcf.gz', 'chr20.info.gz']);
    expect(out.inputs.map((i) => i.name)).toEqual(['chr20.vcf.gz', 'chr21.vcf.gz']);
  });

  it('the run bundle lists the results as a tree; its size and checksums follow the DRS bundle rules', async () => {
    const bundleId = idOf(outputsOf(privateRun).drs_uri);
    const top = await json<DrsObject>(await getObject(bundleId, 'demo-cli'));
    expect(top.access_methods).toBeUndefined();
    const names = top.contents!.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['chr_20.zip', 'chr_20', 'qc_report.txt', 'statistics']));
    expect(top.contents!.every((c) => c.contents === undefined)).toBe(true);

    const children = await Promise.all(top.contents!.map(async (c) => json<DrsObject>(await getObject(c.id!, 'demo-cli'))));
    expect(top.size).toBe(children.reduce((n, c) => n + c.size, 0));
    const sum = (type: string) => children.map((c) => c.checksums.find((k) => k.type === type)!.checksum);
    expect(top.checksums).toEqual([
      { type: 'sha-256', checksum: bundleChecksum('sha256', sum('sha-256')) },
      { type: 'md5', checksum: bundleChecksum('md5', sum('md5')) },
    ]);

    const expanded = await json<DrsObject>(await getObject(bundleId, 'demo-cli', '?expand=true'));
    const members = expanded.contents!.find((c) => c.name === 'chr_20')!;
    expect(members.contents?.map((c) => c.name).sort()).toEqual(['chr20.dose.vcf.gz', 'chr20.info.gz']);
  });

  it('every object of the run serves exactly the bytes its DRS checksums and size describe', async () => {
    const bundleId = idOf(outputsOf(privateRun).drs_uri);
    const seen: string[] = [];
    const walk = async (id: string): Promise<void> => {
      const o = await json<DrsObject>(await getObject(id, 'demo-cli'));
      if (o.contents) {
        for (const c of o.contents) await walk(c.id!);
        return;
      }
      const url = o.access_methods!.find((m) => m.access_url)!.access_url!.url;
      const res = await fetch(url, { headers: bearer('demo-cli') });
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBe(o.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(o.checksums.find((c) => c.type === 'sha-256')!.checksum);
      expect(createHash('md5').update(bytes).digest('hex')).toBe(o.checksums.find((c) => c.type === 'md5')!.checksum);
      seen.push(o.name!);
    };
    await walk(bundleId);
    expect(seen).toEqual(expect.arrayContaining(['chr_20.zip', 'chr20.dose.vcf.gz', 'chr21.info.gz', 'qc_report.txt']));
  });

  it('a file opened out of a result zip is the real imputed VCF, no password needed', async () => {
    const dose = outputsOf(privateRun).files.find((f) => f.name === 'chr_20.zip')!.extracted!.find((m) => m.name === 'chr20.dose.vcf.gz')!;
    const res = await fetch(dose.url, { headers: bearer('demo-cli') });
    const vcf = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
    expect(vcf.startsWith('##fileformat=VCF')).toBe(true);
    expect(vcf).toMatch(/^20\t\d+\t/m);
  });

  it('inputs are objects too, with their run in the alias, and a bundle says it is one', async () => {
    const input = outputsOf(privateRun).inputs[0]!;
    const o = await json<DrsObject>(await getObject(idOf(input.drs_uri), 'demo-cli'));
    expect(o).toMatchObject({ name: 'chr20.vcf.gz', size: input.size, mime_type: 'application/gzip' });
    expect(o.aliases).toEqual([`run:${privateRun.run_id}/chr20.vcf.gz`]);
    expect(o.self_uri).toBe(input.drs_uri);
  });
});

describe('who may read', () => {
  const privateObject = () => idOf(outputsOf(privateRun).files[0]!.drs_uri);
  const datasetObject = () => idOf(outputsOf(datasetRun).files[0]!.drs_uri);

  it('no token: 401 with a Bearer challenge', async () => {
    const res = await getObject(privateObject(), null);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await expectError(res, 401);
  });

  it('another user gets exactly the 404 of an object that does not exist', async () => {
    const hidden = await expectError(await getObject(privateObject(), 'demo-cli-2'), 404);
    const absent = '00000000-0000-4000-8000-000000000000';
    const missing = await expectError(await getObject(absent, 'demo-cli-2'), 404);
    expect(hidden.replace(privateObject(), 'X')).toBe(missing.replace(absent, 'X'));
    await expectError(await getObject('not-an-object-id', 'demo-cli'), 404, /was not found/);
  });

  it('an object of an announced dataset: 403 with what would grant it to those without the grant', async () => {
    await expectError(await getObject(datasetObject(), 'demo-cli-2'), 403, /dataset "demo"|"demo"/);
    await expectError(await getObject(datasetObject(), 'bob'), 403);
  });

  it('a ControlledAccessGrants visa for the dataset reads it; it does not open private objects', async () => {
    expect((await getObject(datasetObject(), 'alice')).status).toBe(200);
    await expectError(await getObject(privateObject(), 'alice'), 404);
  });

  it('administrators read everything', async () => {
    expect((await getObject(privateObject(), 'admin')).status).toBe(200);
    expect((await getObject(datasetObject(), 'admin')).status).toBe(200);
  });

  it('passports in the body of POST stand in for a token', async () => {
    const alice = await passportOf('alice');
    const ok = await post(`/objects/${datasetObject()}`, { passports: [alice] });
    expect(ok.status).toBe(200);
    expect((await json<DrsObject>(ok)).id).toBe(datasetObject());
    await expectError(await post(`/objects/${privateObject()}`, { passports: [alice] }), 404);
    await expectError(await post(`/objects/${datasetObject()}`, { passports: [await passportOf('bob')] }), 403);
  });

  it('passports that are not JWTs are a 400; a JWT that is not a trusted passport is a 401', async () => {
    await expectError(await post(`/objects/${datasetObject()}`, { passports: ['not a jwt'] }), 400, /passports\[0\] is not a JWT/);
    await expectError(await post(`/objects/${datasetObject()}`, { passports: 'eyJ' }), 400, /list/);
    const forged = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
    await expectError(await post(`/objects/${datasetObject()}`, { passports: [forged] }), 401, /passport was not accepted/);
    await expectError(await post(`/objects/${datasetObject()}`, { expand: 'maybe' }, bearer('alice')), 400, /expand/);
    expect((await getObject(datasetObject(), 'alice', '?expand=True')).status).toBe(200);
  });

  it('a body that is not JSON, or too large, is refused before anything is read', async () => {
    const notJson = await fetch(`${drs()}/objects/${datasetObject()}`, { method: 'POST', headers: { ...bearer('alice'), 'Content-Type': 'application/json' }, body: '{"passports": [' });
    await expectError(notJson, 400, /not valid JSON/);
    const huge = await fetch(`${drs()}/objects`, { method: 'POST', headers: { ...bearer('alice'), 'Content-Type': 'application/json' }, body: `{"bulk_object_ids": ["${'a'.repeat(5 * 1024 * 1024)}"]}` });
    await expectError(huge, 413);
  });
});

describe('access: https through the broker, and signed links', () => {
  const zip = () => outputsOf(privateRun).files.find((f) => f.name === 'chr_20.zip')!;

  it('a signed link streams the object without a token, ranges included', async () => {
    const res = await fetch(`${drs()}/objects/${idOf(zip().drs_uri)}/access/signed`, { headers: bearer('demo-cli') });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { url } = await json<AccessURL>(res);
    // Named after the file, so tools that name downloads after the URL get chr_20.zip.
    expect(url).toMatch(/\/api\/v1\/objects\/[0-9a-f-]{36}\/content\/chr_20\.zip\?expires=\d+&caller=[\w-]+&signature=/);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await whole.arrayBuffer())).digest('hex')).toBe(zip().sha256);
    const part = await fetch(url, { headers: { Range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  });

  it('an altered or borrowed signed link is 403; an unknown access id is 404', async () => {
    const { url } = await json<AccessURL>(await fetch(`${drs()}/objects/${idOf(zip().drs_uri)}/access/signed`, { headers: bearer('demo-cli') }));
    const u = new URL(url);
    const later = new URL(u);
    later.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600));
    await expectError(await fetch(later), 403, /does not match/);
    const other = new URL(u);
    other.pathname = other.pathname.replace(idOf(zip().drs_uri), idOf(outputsOf(privateRun).files[1]!.drs_uri));
    await expectError(await fetch(other), 403, /does not match/);
    const stranger = new URL(u);
    stranger.searchParams.set('caller', 'somebody-else');
    await expectError(await fetch(stranger), 403);
    const cut = new URL(u);
    cut.searchParams.delete('signature');
    await expectError(await fetch(cut), 403);
    await expectError(await fetch(`${drs()}/objects/${idOf(zip().drs_uri)}/access/s3`, { headers: bearer('demo-cli') }), 404, /no access method 's3'/);
    await expectError(await fetch(`${drs()}/objects/${idOf(outputsOf(privateRun).drs_uri)}/access/signed`, { headers: bearer('demo-cli') }), 404, /bundle/);
  });

  it('POST /access takes passports; others still get the 404 of a missing object', async () => {
    const id = idOf(outputsOf(datasetRun).files[0]!.drs_uri);
    const ok = await post(`/objects/${id}/access/signed`, { passports: [await passportOf('alice')] });
    expect(ok.status).toBe(200);
    expect((await fetch((await json<AccessURL>(ok)).url)).status).toBe(200);
    await expectError(await fetch(`${drs()}/objects/${idOf(zip().drs_uri)}/access/signed`, { headers: bearer('demo-cli-2') }), 404);
  });

  it('a range outside the file is a 416 in the DRS error shape', async () => {
    const res = await fetch(zip().url, { headers: { ...bearer('demo-cli'), Range: `bytes=${zip().size + 10}-` } });
    expect(res.headers.get('content-range')).toBe(`bytes */${zip().size}`);
    await expectError(res, 416);
    await expectError(await fetch(zip().url, { headers: { ...bearer('demo-cli'), Range: 'items=0-1' } }), 416);
  });
});

describe('bulk requests', () => {
  it('answers each id as GetObject would: resolved, or grouped under 403 and 404', async () => {
    const mine = outputsOf(privateRun).files.map((f) => idOf(f.drs_uri));
    const dataset = idOf(outputsOf(datasetRun).files[0]!.drs_uri);
    const res = await post('/objects?expand=true', { bulk_object_ids: [...mine, dataset, 'nope', mine[0]] }, bearer('demo-cli-2'));
    const body = await json<BulkObjectsResponse>(res);
    expect(res.status).toBe(200);
    expect(body.summary).toEqual({ requested: mine.length + 2, resolved: 0, unresolved: mine.length + 2 });
    expect(body.unresolved_drs_objects).toEqual([
      { error_code: 403, object_ids: [dataset] },
      { error_code: 404, object_ids: [...mine, 'nope'] },
    ]);
    const own = await json<BulkObjectsResponse>(await post('/objects', { bulk_object_ids: mine }, bearer('demo-cli')));
    expect(own.summary).toEqual({ requested: mine.length, resolved: mine.length, unresolved: 0 });
    expect(own.resolved_drs_object!.map((o) => o.id).sort()).toEqual([...mine].sort());
  });

  it('takes passports, refuses more ids than maxBulkRequestLength with 413, and malformed bodies with 400', async () => {
    const dataset = idOf(outputsOf(datasetRun).files[0]!.drs_uri);
    const viaPassport = await json<BulkObjectsResponse>(await post('/objects', { bulk_object_ids: [dataset], passports: [await passportOf('alice')] }));
    expect(viaPassport.summary?.resolved).toBe(1);
    const many = Array.from({ length: 10_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await expectError(await post('/objects', { bulk_object_ids: many }, bearer('demo-cli')), 413, /at most 1000/);
    for (const bad of [{}, { bulk_object_ids: [] }, { bulk_object_ids: 'x' }, { bulk_object_ids: [1] }, [], 'x']) {
      await expectError(await post('/objects', bad, bearer('demo-cli')), 400);
    }
  });

  it('bulk access gives a signed link per (object, access id) pair', async () => {
    const ids = outputsOf(privateRun).files.slice(0, 2).map((f) => idOf(f.drs_uri));
    const res = await post(
      '/objects/access',
      { bulk_object_access_ids: [{ bulk_object_id: ids[0], bulk_access_ids: ['signed', 'ftp'] }, { bulk_object_id: ids[1], bulk_access_ids: ['signed'] }] },
      bearer('demo-cli'),
    );
    const body = await json<BulkAccessURLsResponse>(res);
    expect(body.summary).toEqual({ requested: 3, resolved: 2, unresolved: 1 });
    expect(body.resolved_drs_object_access_urls!.map((a) => [a.drs_object_id, a.drs_access_id])).toEqual([
      [ids[0], 'signed'],
      [ids[1], 'signed'],
    ]);
    expect((await fetch(body.resolved_drs_object_access_urls![1]!.url)).status).toBe(200);
    expect(body.unresolved_drs_objects).toEqual([{ error_code: 404, object_ids: [ids[0]] }]);
    const pairs = Array.from({ length: 1001 }, () => ({ bulk_object_id: ids[0], bulk_access_ids: ['signed'] }));
    await expectError(await post('/objects/access', { bulk_object_access_ids: pairs }, bearer('demo-cli')), 413);
    await expectError(await post('/objects/access', { bulk_object_access_ids: [{ bulk_object_id: ids[0] }] }, bearer('demo-cli')), 400, /bulk_access_ids/);
  });
});

describe('OPTIONS, CORS and service-info', () => {
  it('OPTIONS /objects/{id} answers Authorizations without credentials; a CORS pre-flight is answered as one', async () => {
    const id = idOf(outputsOf(privateRun).files[0]!.drs_uri);
    const res = await fetch(`${drs()}/objects/${id}`, { method: 'OPTIONS' });
    expect(await json(res)).toEqual({
      drs_object_id: id,
      supported_types: ['BearerAuth', 'PassportAuth'],
      passport_auth_issuers: [tb.broker.devOidc!.visaIssuer],
      bearer_auth_issuers: [tb.broker.devOidc!.issuer],
    });
    await expectError(await fetch(`${drs()}/objects/nope`, { method: 'OPTIONS' }), 404);
    const del = await fetch(`${drs()}/objects/${id}`, { method: 'DELETE', headers: bearer('demo-cli') });
    expect(del.headers.get('allow')).toBe('GET, POST, OPTIONS');
    await expectError(del, 405, /not a DRS operation/);
    const preflight = await fetch(`${drs()}/objects/${id}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://tool.example.org', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const crossOrigin = await fetch(`${drs()}/objects/${id}`, { headers: { ...bearer('demo-cli'), Origin: 'https://tool.example.org' } });
    expect(crossOrigin.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('OPTIONS /objects takes a list of ids', async () => {
    const id = idOf(outputsOf(privateRun).files[0]!.drs_uri);
    const res = await fetch(`${drs()}/objects`, { method: 'OPTIONS', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ bulk_object_ids: [id, 'x'] }) });
    const body = await json<{ summary: unknown; resolved_drs_object: { drs_object_id: string }[] }>(res);
    expect(body.summary).toEqual({ requested: 2, resolved: 1, unresolved: 1 });
    expect(body.resolved_drs_object.map((a) => a.drs_object_id)).toEqual([id]);
  });

  it('service-info is DRS 1.5 with the bulk limit and counts that match the store', async () => {
    const info = await json<DrsServiceInfo>(await fetch(`${drs()}/service-info`));
    const [{ n, bytes }] = (await tb.broker.deps.ds.query(
      `SELECT count(*)::int AS n, (SELECT sum(size)::bigint FROM (SELECT DISTINCT ON (blob_key) size FROM objects WHERE blob_key IS NOT NULL) s) AS bytes FROM objects`,
    )) as [{ n: number; bytes: string }];
    expect(info.type).toEqual({ group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' });
    expect(info.maxBulkRequestLength).toBe(1000);
    expect(info.drs).toEqual({ maxBulkRequestLength: 1000, objectCount: n, totalObjectSize: Number(bytes) });
  });
});

describe('drs:// inputs', () => {
  it('a run can take the inputs of an earlier run by drs:// URI: the same bytes, not stored twice', async () => {
    const inputs = outputsOf(privateRun).inputs;
    const blobsBefore = (await tb.broker.deps.ds.query(`SELECT count(DISTINCT blob_key)::int AS n FROM objects WHERE role = 'input'`))[0].n as number;
    const res = await submit(tb.url, tokens['demo-cli']!, { params: { ...params, files: inputs.map((i) => i.drs_uri) } });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    const log = await waitForState(tb.url, tokens['demo-cli']!, run_id, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    expect(outputsOf(log).inputs.map((i) => i.sha256)).toEqual(inputs.map((i) => i.sha256));
    const blobsAfter = (await tb.broker.deps.ds.query(`SELECT count(DISTINCT blob_key)::int AS n FROM objects WHERE role = 'input'`))[0].n as number;
    expect(blobsAfter).toBe(blobsBefore);
  });

  it('drs:// inputs the caller may not read are refused as if absent; a bundle or a bad URI is a clear 400', async () => {
    const input = outputsOf(privateRun).inputs[0]!.drs_uri;
    const other = await submit(tb.url, tokens['demo-cli-2']!, { params: { ...params, files: [input] } });
    await expectError(other, 400, /was not found/);
    const bundle = await submit(tb.url, tokens['demo-cli']!, { params: { ...params, files: [outputsOf(privateRun).drs_uri] } });
    await expectError(bundle, 400, /bundle/);
    const compact = await submit(tb.url, tokens['demo-cli']!, { params: { ...params, files: ['drs://unknownprefix:12345'] } });
    await expectError(compact, 400, /compact prefix 'unknownprefix'/);
    const broken = await submit(tb.url, tokens['demo-cli']!, { params: { ...params, files: ['drs://'] } });
    await expectError(broken, 400, /not a drs:\/\/ URI/);
  });

  it('an object on another DRS server is resolved through its API, with the caller’s passport, and checked against its checksums', async () => {
    // The broker itself under another name is a real DRS 1.5 server that takes passports.
    const port = new URL(tb.url).port;
    const input = outputsOf(datasetRun).inputs[0]!;
    const remote = `drs://localhost:${port}/${idOf(input.drs_uri)}`;
    const res = await submit(tb.url, tokens.alice!, { params: { ...params, files: [remote] } });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    const log = await waitForState(tb.url, tokens.alice!, run_id, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    expect(outputsOf(log).inputs).toEqual([expect.objectContaining({ name: input.name, sha256: input.sha256, size: input.size })]);
    // Without a passport to present (a client token), the other server refuses: a clear 403.
    const refused = await submit(tb.url, tokens['demo-cli-2']!, { params: { ...params, files: [remote] } });
    await expectError(refused, 403, /refused access/);
  });
});

describe('deleting a run’s results', () => {
  it('only administrators may; afterwards every result id is 404 and the inputs stay', async () => {
    const run = datasetRun.run_id!;
    const out = outputsOf(datasetRun);
    const del = (who: string) => fetch(`${tb.url}/api/v1/runs/${run}/results`, { method: 'DELETE', headers: bearer(who) });
    await expectError(await del('demo-cli'), 403, /administrators/);
    const res = await del('admin');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { objects_deleted: number; bytes_deleted: number };
    expect(body.objects_deleted).toBeGreaterThan(out.files.length);
    expect(body.bytes_deleted).toBe(out.files.reduce((n, f) => n + f.size + (f.extracted ?? []).reduce((m, e) => m + e.size, 0), 0));
    for (const f of out.files) await expectError(await getObject(idOf(f.drs_uri), 'admin'), 404);
    await expectError(await getObject(idOf(out.drs_uri), 'admin'), 404);
    expect((await getObject(idOf(out.inputs[0]!.drs_uri), 'admin')).status).toBe(200);
    const after = await waitForState(tb.url, tokens['demo-cli']!, run, () => true);
    expect((after.outputs as unknown as Outputs).files).toBeUndefined();
    expect(after.run_log?.system_logs?.join('\n')).toMatch(/Results deleted by an administrator/);
    const audit = (await tb.broker.deps.ds.query(`SELECT action, object_id FROM audit_events WHERE action = 'run.results_deleted'`)) as { object_id: string }[];
    expect(audit.map((a) => a.object_id)).toEqual([run]);
  });
});
