/**
 * Every DRS 1.5 operation, called live on a real broker (real PostgreSQL, dev OIDC, Cloudgene
 * simulator), every response checked against the official GA4GH DRS 1.5.0 document (see
 * contract.ts): success bodies, and the error bodies of 400, 401, 403, 404 and 413, plus the
 * errors the document does not list (413 on single-object POSTs, and the byte route an
 * `access_url` points to: 401, 403, 404, 416).
 *
 * The objects are the inputs and results of two COMPLETE runs of `demo-cli` (drs-fixture.ts):
 * a private one and one tagged with the dataset `demo`, which `alice` may read and `bob` may not.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ContractRecorder, type Method } from './contract';
import { drsSchemas } from './drs-schema';
import { prepareDrsFixture, type DrsFixture } from './drs-fixture';
import { call, rawRequest, type JsonResponse } from './http';
import { startConformanceBroker, type ConformanceBroker } from './launcher';

const P = {
  info: '/service-info',
  object: '/objects/{object_id}',
  bulk: '/objects',
  access: '/objects/{object_id}/access/{access_id}',
  bulkAccess: '/objects/access',
} as const;
/** The route an `https` access method's `access_url` points to (not a DRS operation). */
const CONTENT = '/api/v1/objects/{object_id}/content';
const MAX_BULK = 1000;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

let tb: ConformanceBroker;
let f: DrsFixture;
let drs: string;
const rec = new ContractRecorder(drsSchemas());

beforeAll(async () => {
  tb = await startConformanceBroker({ adminUrl: inject('conformancePgAdminUrl') });
  f = await prepareDrsFixture(tb);
  drs = f.drs;
});

afterAll(async () => {
  if (rec.calls.length) console.info(`DRS contract calls (method path: statuses):\n  ${rec.summary().join('\n  ')}`);
  await tb?.close();
});

type Body = Record<string, unknown>;
const field = (body: unknown, key: string): unknown => (body as Body)[key];
const jsonInit = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  headers: { 'Content-Type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

const getObject = (id: string, token: string | null, query = '') => rec.check(drs, P.object, 'GET', `/objects/${id}${query}`, token);
const postObject = (id: string, body: unknown, token: string | null = null) => rec.check(drs, P.object, 'POST', `/objects/${id}`, token, jsonInit(body));
const getAccess = (id: string, accessId: string, token: string | null) => rec.check(drs, P.access, 'GET', `/objects/${id}/access/${accessId}`, token);
const postAccess = (id: string, accessId: string, body: unknown, token: string | null = null) =>
  rec.check(drs, P.access, 'POST', `/objects/${id}/access/${accessId}`, token, jsonInit(body));
const bulkObjects = (body: unknown, token: string | null = null, query = '') => rec.check(drs, P.bulk, 'POST', `/objects${query}`, token, jsonInit(body));
const bulkAccess = (body: unknown, token: string | null = null) => rec.check(drs, P.bulkAccess, 'POST', '/objects/access', token, jsonInit(body));
const optionsBulk = (body?: unknown) => rec.check(drs, P.bulk, 'OPTIONS', '/objects', null, body === undefined ? {} : jsonInit(body));

interface AccessMethod {
  type: string;
  access_url?: { url: string; headers?: string[] };
  access_id?: string;
  available?: boolean;
  authorizations?: Body;
}
const accessMethods = (body: unknown) => field(body, 'access_methods') as AccessMethod[];
const sha256 = (bytes: ArrayBuffer) => createHash('sha256').update(Buffer.from(bytes)).digest('hex');

describe('GET /service-info (GetServiceInfo)', () => {
  it('answers without credentials: a service-info of type org.ga4gh:drs:1.5.0 with maxBulkRequestLength at the root and under drs', async () => {
    const r = await rec.check(drs, P.info, 'GET', '/service-info', null);
    expect(field(r.body, 'type')).toEqual({ group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' });
    expect(field(r.body, 'maxBulkRequestLength')).toBe(MAX_BULK);
    const block = field(r.body, 'drs') as { maxBulkRequestLength: number; objectCount: number; totalObjectSize: number };
    expect(block.maxBulkRequestLength).toBe(MAX_BULK);
    const known = [f.privateRun, f.datasetRun].reduce((n, run) => n + run.blobs().length + 1, 0);
    expect(block.objectCount).toBeGreaterThanOrEqual(known);
    expect(block.totalObjectSize).toBeGreaterThan(0);
  });

  it('answers with a token, and to a GET carrying a JSON body {} (as Python requests sends it)', async () => {
    await rec.check(drs, P.info, 'GET', '/service-info', f.tokens.owner);
    const raw = await rawRequest(`${drs}/service-info`, { method: 'GET', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(rec.verify(P.info, 'GET', raw).status).toBe(200);
  });
});

describe('GET /objects/{object_id} (GetObject)', () => {
  it('every blob of a run (inputs, results, files opened out of the zips) is a valid DrsObject with its checksums and both access methods', async () => {
    for (const blob of f.privateRun.blobs()) {
      const r = await getObject(blob.id, f.tokens.owner);
      expect(r.body).toMatchObject({ id: blob.id, size: blob.size });
      expect(field(r.body, 'self_uri')).toBe(`drs://${new URL(tb.url).host}/${blob.id}`);
      expect(field(r.body, 'checksums')).toEqual(expect.arrayContaining([{ type: 'sha-256', checksum: blob.sha256 }, expect.objectContaining({ type: 'md5' })]));
      expect(field(r.body, 'contents')).toBeUndefined();
      const methods = accessMethods(r.body);
      expect(methods).toEqual([
        { type: 'https', access_url: { url: `${tb.url}/api/v1/objects/${blob.id}/content` }, available: true },
        { type: 'https', access_id: 'signed', available: true, authorizations: expect.objectContaining({ drs_object_id: blob.id }) },
      ]);
    }
  });

  it('the access_url serves exactly the bytes the object describes, with the bearer token', async () => {
    for (const blob of [...f.privateRun.inputs, ...f.privateRun.extracted]) {
      const url = accessMethods((await getObject(blob.id, f.tokens.owner)).body)[0]!.access_url!.url;
      const res = await fetch(url, { headers: { Authorization: `Bearer ${f.tokens.owner}` } });
      expect(res.status).toBe(200);
      expect(sha256(await res.arrayBuffer())).toBe(blob.sha256);
    }
  });

  it('the run bundle: contents without access methods; nested bundles expanded only with expand=true', async () => {
    const plain = await getObject(f.privateRun.bundle, f.tokens.owner);
    expect(field(plain.body, 'access_methods')).toBeUndefined();
    const contents = field(plain.body, 'contents') as { name: string; id: string; drs_uri: string[]; contents?: unknown }[];
    expect(contents.length).toBeGreaterThan(1);
    for (const c of contents) {
      expect(c.drs_uri).toEqual([`drs://${new URL(tb.url).host}/${c.id}`]);
      expect(c.contents).toBeUndefined();
    }
    expect((await getObject(f.privateRun.bundle, f.tokens.owner, '?expand=false')).body).toEqual(plain.body);

    const expanded = await getObject(f.privateRun.bundle, f.tokens.owner, '?expand=true');
    const nested = (field(expanded.body, 'contents') as { contents?: { id: string }[] }[]).filter((c) => c.contents);
    expect(nested.length).toBeGreaterThan(0);
    const members = nested.flatMap((c) => c.contents!.map((m) => m.id));
    expect(members).toEqual(expect.arrayContaining(f.privateRun.extracted.map((e) => e.id)));
    // Each listed id is itself an object the owner can read.
    for (const c of contents) await getObject(c.id, f.tokens.owner);
  });

  it('an object of the dataset run is read by alice, who holds a grant for the dataset', async () => {
    for (const id of [f.datasetRun.bundle, f.datasetRun.files[0]!.id]) expect((await getObject(id, f.tokens.alice)).status).toBe(200);
  });

  it('copes with a GET carrying a JSON body {} (as Python requests sends it)', async () => {
    const raw = await rawRequest(`${drs}/objects/${f.privateRun.files[0]!.id}`, {
      method: 'GET',
      headers: { Authorization: `Bearer ${f.tokens.owner}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(rec.verify(P.object, 'GET', raw).status).toBe(200);
  });
});

describe('POST /objects/{object_id} (PostObject)', () => {
  it('takes alice’s Passport in the body instead of a token, expand included', async () => {
    const blob = await postObject(f.datasetRun.files[0]!.id, { passports: [f.passports.alice] });
    expect(field(blob.body, 'id')).toBe(f.datasetRun.files[0]!.id);
    const bundle = await postObject(f.datasetRun.bundle, { passports: [f.passports.alice], expand: true });
    expect((field(bundle.body, 'contents') as { contents?: unknown }[]).some((c) => c.contents)).toBe(true);
  });

  it('takes a bearer token with an empty JSON body, or none at all', async () => {
    await postObject(f.privateRun.bundle, {}, f.tokens.owner);
    await postObject(f.privateRun.bundle, { expand: false }, f.tokens.owner);
    const none = await rec.check(drs, P.object, 'POST', `/objects/${f.privateRun.files[0]!.id}`, f.tokens.owner);
    expect(none.status).toBe(200);
  });
});

describe('OPTIONS /objects/{object_id} (OptionsObject)', () => {
  it('answers Authorizations without credentials, for a blob and for a bundle', async () => {
    for (const id of [f.privateRun.files[0]!.id, f.privateRun.bundle]) {
      const r = await rec.check(drs, P.object, 'OPTIONS', `/objects/${id}`, null);
      expect(r.body).toMatchObject({ drs_object_id: id, supported_types: ['BearerAuth', 'PassportAuth'] });
      expect((field(r.body, 'passport_auth_issuers') as string[]).length).toBeGreaterThan(0);
      expect((field(r.body, 'bearer_auth_issuers') as string[]).length).toBeGreaterThan(0);
    }
  });

  it('says nothing about existence: any id that could be an object id gets the same answer; anything else is 404', async () => {
    const r = await rec.check(drs, P.object, 'OPTIONS', `/objects/${UNKNOWN}`, null);
    expect(field(r.body, 'drs_object_id')).toBe(UNKNOWN);
    expect((await rec.check(drs, P.object, 'OPTIONS', '/objects/not-an-object-id', null)).status).toBe(404);
  });
});

describe('OPTIONS /objects (OptionsBulkObject)', () => {
  it('answers Authorizations per id, ids that cannot be objects under 404', async () => {
    const r = await optionsBulk({ bulk_object_ids: [f.privateRun.files[0]!.id, f.privateRun.bundle, 'nope'] });
    expect(field(r.body, 'summary')).toEqual({ requested: 3, resolved: 2, unresolved: 1 });
    expect(field(r.body, 'unresolved_drs_objects')).toEqual([{ error_code: 404, object_ids: ['nope'] }]);
    expect((field(r.body, 'resolved_drs_object') as { drs_object_id: string }[]).map((a) => a.drs_object_id)).toEqual([f.privateRun.files[0]!.id, f.privateRun.bundle]);
  });

  it(`takes exactly maxBulkRequestLength (${MAX_BULK}) ids; one more is 413`, async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect(field((await optionsBulk({ bulk_object_ids: ids(MAX_BULK) })).body, 'summary')).toMatchObject({ requested: MAX_BULK });
    expect((await optionsBulk({ bulk_object_ids: ids(MAX_BULK + 1) })).status).toBe(413);
  });

  it.each([['no body', undefined], ['no ids', {}], ['an empty list', { bulk_object_ids: [] }], ['not a list', { bulk_object_ids: 'x' }], ['not strings', { bulk_object_ids: [1] }]])(
    '400 for %s',
    async (_, body) => {
      expect((await optionsBulk(body)).status).toBe(400);
    },
  );
});

describe('POST /objects (GetBulkObjects)', () => {
  it('answers every id as GetObject would: resolved for the owner; grouped under 403 and 404 for another client', async () => {
    const mine = f.privateRun.blobs().map((b) => b.id);
    const own = await bulkObjects({ bulk_object_ids: [...mine, f.privateRun.bundle] }, f.tokens.owner);
    expect(field(own.body, 'summary')).toEqual({ requested: mine.length + 1, resolved: mine.length + 1, unresolved: 0 });
    expect(field(own.body, 'unresolved_drs_objects')).toEqual([]);

    const dataset = f.datasetRun.files[0]!.id;
    const other = await bulkObjects({ bulk_object_ids: [mine[0], dataset, 'nope'] }, f.tokens.other);
    expect(field(other.body, 'summary')).toEqual({ requested: 3, resolved: 0, unresolved: 3 });
    expect(field(other.body, 'unresolved_drs_objects')).toEqual([
      { error_code: 403, object_ids: [dataset] },
      { error_code: 404, object_ids: [mine[0], 'nope'] },
    ]);
  });

  it('takes Passports in the body, and expand=true', async () => {
    const r = await bulkObjects({ passports: [f.passports.alice], bulk_object_ids: [f.datasetRun.bundle, f.privateRun.files[0]!.id] }, null, '?expand=true');
    expect(field(r.body, 'summary')).toEqual({ requested: 2, resolved: 1, unresolved: 1 });
    const [bundle] = field(r.body, 'resolved_drs_object') as { id: string; contents: { contents?: unknown }[] }[];
    expect(bundle!.id).toBe(f.datasetRun.bundle);
    expect(bundle!.contents.some((c) => c.contents)).toBe(true);
  });

  it(`refuses more than maxBulkRequestLength ids with 413, malformed bodies with 400, no credentials with 401`, async () => {
    const many = Array.from({ length: MAX_BULK + 1 }, () => f.privateRun.bundle);
    expect((await bulkObjects({ bulk_object_ids: many }, f.tokens.owner)).status).toBe(413);
    for (const bad of [{}, { bulk_object_ids: [] }, { bulk_object_ids: 'x' }, { bulk_object_ids: [1] }, [], 'x']) {
      expect((await bulkObjects(bad, f.tokens.owner)).status).toBe(400);
    }
    expect((await bulkObjects({ bulk_object_ids: [f.privateRun.bundle] })).status).toBe(401);
  });
});

describe('GET and POST /objects/{object_id}/access/{access_id} (GetAccessURL, PostAccessURL)', () => {
  it('the access id `signed` of every blob gives an AccessURL whose url needs no token and serves the object', async () => {
    for (const blob of f.privateRun.blobs()) {
      const r = await getAccess(blob.id, 'signed', f.tokens.owner);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(field(r.body, 'headers')).toBeUndefined();
      const res = await fetch(field(r.body, 'url') as string);
      expect(res.status).toBe(200);
      expect(sha256(await res.arrayBuffer())).toBe(blob.sha256);
    }
  });

  it('POST takes alice’s Passport for an object of the dataset run', async () => {
    const blob = f.datasetRun.files[0]!;
    const r = await postAccess(blob.id, 'signed', { passports: [f.passports.alice] });
    const res = await fetch(field(r.body, 'url') as string);
    expect(sha256(await res.arrayBuffer())).toBe(blob.sha256);
    // A bearer token with an empty body works too.
    expect((await postAccess(blob.id, 'signed', {}, f.tokens.owner)).status).toBe(200);
  });

  it('404 for an access id the object does not have, and for a bundle (it has no access methods)', async () => {
    const id = f.privateRun.files[0]!.id;
    expect((await getAccess(id, 's3', f.tokens.owner)).status).toBe(404);
    expect((await postAccess(id, 'https', {}, f.tokens.owner)).status).toBe(404);
    expect((await getAccess(f.privateRun.bundle, 'signed', f.tokens.owner)).status).toBe(404);
  });
});

describe('POST /objects/access (GetBulkAccessURL)', () => {
  it('gives a signed link per (object, access id) pair; unknown access ids and other users’ objects are unresolved', async () => {
    const [a, b] = f.privateRun.files;
    const r = await bulkAccess(
      { bulk_object_access_ids: [{ bulk_object_id: a!.id, bulk_access_ids: ['signed', 'ftp'] }, { bulk_object_id: b!.id, bulk_access_ids: ['signed'] }] },
      f.tokens.owner,
    );
    expect(field(r.body, 'summary')).toEqual({ requested: 3, resolved: 2, unresolved: 1 });
    const urls = field(r.body, 'resolved_drs_object_access_urls') as { drs_object_id: string; drs_access_id: string; url: string }[];
    expect(urls.map((u) => [u.drs_object_id, u.drs_access_id])).toEqual([
      [a!.id, 'signed'],
      [b!.id, 'signed'],
    ]);
    expect(sha256(await (await fetch(urls[1]!.url)).arrayBuffer())).toBe(b!.sha256);
    expect(field(r.body, 'unresolved_drs_objects')).toEqual([{ error_code: 404, object_ids: [a!.id] }]);
  });

  it('takes Passports: alice resolves the dataset object, bob gets it under 403', async () => {
    const id = f.datasetRun.files[0]!.id;
    const body = (passport: string) => ({ passports: [passport], bulk_object_access_ids: [{ bulk_object_id: id, bulk_access_ids: ['signed'] }] });
    expect(field((await bulkAccess(body(f.passports.alice))).body, 'summary')).toEqual({ requested: 1, resolved: 1, unresolved: 0 });
    expect(field((await bulkAccess(body(f.passports.bob))).body, 'unresolved_drs_objects')).toEqual([{ error_code: 403, object_ids: [id] }]);
  });

  it('413 beyond maxBulkRequestLength pairs, 400 for malformed bodies, 401 without credentials', async () => {
    const id = f.privateRun.files[0]!.id;
    const pairs = Array.from({ length: MAX_BULK + 1 }, () => ({ bulk_object_id: id, bulk_access_ids: ['signed'] }));
    expect((await bulkAccess({ bulk_object_access_ids: pairs }, f.tokens.owner)).status).toBe(413);
    for (const bad of [{}, { bulk_object_access_ids: [] }, { bulk_object_access_ids: [{ bulk_object_id: id }] }, { bulk_object_access_ids: [{ bulk_object_id: 1, bulk_access_ids: ['signed'] }] }]) {
      expect((await bulkAccess(bad, f.tokens.owner)).status).toBe(400);
    }
    expect((await bulkAccess({ bulk_object_access_ids: [{ bulk_object_id: id, bulk_access_ids: ['signed'] }] })).status).toBe(401);
  });
});

/** The four single-object read operations, for the error blocks below. */
const reads = (id: () => string): [string, Method, (token: string | null, passports?: string[]) => Promise<JsonResponse>][] => [
  ['GetObject', 'GET', (token) => getObject(id(), token)],
  ['PostObject', 'POST', (token, passports) => postObject(id(), passports ? { passports } : {}, token)],
  ['GetAccessURL', 'GET', (token) => getAccess(id(), 'signed', token)],
  ['PostAccessURL', 'POST', (token, passports) => postAccess(id(), 'signed', passports ? { passports } : {}, token)],
];

describe('401: no credentials, a token that is not a JWT, Basic credentials, a Passport that is not trusted', () => {
  const cases = reads(() => f.privateRun.files[0]!.id);
  const forged = () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;

  it.each(cases)('%s without credentials, with a Bearer challenge', async (_, __, run) => {
    const r = await run(null);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it.each(cases)('%s with a token that is not a JWT', async (_, __, run) => {
    expect((await run('not-a-jwt')).status).toBe(401);
  });

  it('GetObject with Basic credentials (declared by DRS; this broker has no passwords)', async () => {
    const r = await rec.check(drs, P.object, 'GET', `/objects/${f.privateRun.files[0]!.id}`, null, { headers: { Authorization: 'Basic Z2E0Z2g6ZHJz' } });
    expect(r.status).toBe(401);
  });

  it.each(cases.filter(([, m]) => m === 'POST'))('%s with an unsigned JWT as Passport', async (_, __, run) => {
    const r = await run(null, [forged()]);
    expect(r.status).toBe(401);
    expect(String(field(r.body, 'msg'))).toMatch(/passport/i);
  });
});

describe('403: an object of an announced dataset, for callers without a grant', () => {
  const cases = reads(() => f.datasetRun.files[0]!.id);

  it.each(cases)('%s: bob (no visas) and demo-cli-2 by token, bob by Passport', async (_, method, run) => {
    expect((await run(f.tokens.bob)).status).toBe(403);
    expect((await run(f.tokens.other)).status).toBe(403);
    if (method === 'POST') expect((await run(null, [f.passports.bob])).status).toBe(403);
  });
});

describe('404: unknown objects, and other users’ private objects worded exactly alike', () => {
  it.each(reads(() => UNKNOWN))('%s of an object that does not exist', async (_, __, run) => {
    expect((await run(f.tokens.owner)).status).toBe(404);
  });

  it.each(reads(() => f.privateRun.files[0]!.id))('%s of another user’s private object: the same 404, also for alice’s Passport', async (name, method, run) => {
    const r = await run(f.tokens.other);
    expect(r.status).toBe(404);
    const absent = await reads(() => UNKNOWN).find(([n]) => n === name)![2](f.tokens.other);
    expect(String(field(r.body, 'msg')).replace(f.privateRun.files[0]!.id, 'X')).toBe(String(field(absent.body, 'msg')).replace(UNKNOWN, 'X'));
    if (method === 'POST') expect((await run(null, [f.passports.alice])).status).toBe(404);
  });
});

describe('400: malformed requests', () => {
  const id = () => f.datasetRun.files[0]!.id;

  it('expand that is not a boolean, in the query and in the body', async () => {
    expect((await getObject(id(), f.tokens.alice, '?expand=maybe')).status).toBe(400);
    expect((await postObject(id(), { expand: 'maybe' }, f.tokens.alice)).status).toBe(400);
    expect((await bulkObjects({ bulk_object_ids: [id()] }, f.tokens.alice, '?expand=maybe')).status).toBe(400);
  });

  it('a body that is not JSON, or not a JSON object', async () => {
    for (const body of ['{"passports": [', '[]', '"x"']) {
      expect((await postObject(id(), body, f.tokens.alice)).status).toBe(400);
      expect((await postAccess(id(), 'signed', body, f.tokens.alice)).status).toBe(400);
    }
  });

  it('passports that are not a list of JWTs', async () => {
    for (const passports of ['eyJ', ['not a jwt'], [42]]) {
      expect((await postObject(id(), { passports })).status).toBe(400);
      expect((await postAccess(id(), 'signed', { passports })).status).toBe(400);
      expect((await bulkObjects({ passports, bulk_object_ids: [id()] })).status).toBe(400);
    }
  });
});

describe('errors DRS 1.5 does not list for the operation (still the Error shape with the right status_code)', () => {
  it('a body over the 4 MiB the broker reads is 413 on PostObject and PostAccessURL too', async () => {
    const huge = `{"passports": ["${'a'.repeat(5 * 1024 * 1024)}"]}`;
    const id = f.privateRun.files[0]!.id;
    for (const [path, concrete] of [
      [P.object, `/objects/${id}`],
      [P.access, `/objects/${id}/access/signed`],
    ] as const) {
      const res = await call(`${drs}${concrete}`, f.tokens.owner, { method: 'POST', ...jsonInit(huge) });
      expect(rec.verifyUndeclaredError(path, 'POST', res).status).toBe(413);
    }
  });

  it('the access_url route answers its errors in the DRS Error shape: 401, 404, 403 (altered signed link), 416', async () => {
    const blob = f.privateRun.files.find((x) => x.name === 'chr_20.zip')!;
    const url = `${tb.url}/api/v1/objects/${blob.id}/content`;
    const outside = { outsideDocument: true };
    expect(rec.verifyUndeclaredError(CONTENT, 'GET', await call(url, null), outside).status).toBe(401);
    expect(rec.verifyUndeclaredError(CONTENT, 'GET', await call(url, f.tokens.other), outside).status).toBe(404);

    const signed = new URL(field((await getAccess(blob.id, 'signed', f.tokens.owner)).body, 'url') as string);
    signed.searchParams.set('expires', String(Number(signed.searchParams.get('expires')) + 3600));
    expect(rec.verifyUndeclaredError(CONTENT, 'GET', await call(signed.href, null), outside).status).toBe(403);

    const beyond = await call(url, f.tokens.owner, { headers: { Range: `bytes=${blob.size + 10}-` } });
    expect(rec.verifyUndeclaredError(CONTENT, 'GET', beyond, outside).status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${blob.size}`);
    const badUnit = await call(url, f.tokens.owner, { headers: { Range: 'items=0-1' } });
    expect(rec.verifyUndeclaredError(CONTENT, 'GET', badUnit, outside).status).toBe(416);
  });
});

describe('coverage', () => {
  it('every operation of the official DRS 1.5.0 document was answered with 200 and validated; 400, 401, 403, 404 and 413 were seen', () => {
    expect(drsSchemas().operations()).toHaveLength(9);
    expect(rec.missingSuccess()).toEqual([]);
    const statuses = new Set(rec.calls.map((c) => c.status));
    for (const s of [200, 400, 401, 403, 404, 413, 416]) expect(statuses.has(s), `status ${s}`).toBe(true);
  });
});
