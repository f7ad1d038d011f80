/**
 * The DRS 1.5.0 validator itself: it must be able to fail. Dredd 14 cannot (it checks the keys of
 * an example, never types, enums, `minItems` or anything inside `allOf`), so these are the cases
 * it misses, on the shapes this broker sends; plus what the document leaves open on purpose.
 */
import { describe, expect, it } from 'vitest';
import { ContractRecorder } from './contract';
import { drsSchemas } from './drs-schema';

const schemas = drsSchemas();
const json = (status: number, body: unknown, contentType = 'application/json') => ({ status, headers: new Headers({ 'content-type': contentType }), body });

const ID = '5b0e8f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const authorizations = {
  drs_object_id: ID,
  supported_types: ['BearerAuth', 'PassportAuth'],
  passport_auth_issuers: ['https://login.example.org/oidc/visas'],
  bearer_auth_issuers: ['https://login.example.org/oidc'],
};
/** A blob as the broker sends it. */
const blob = {
  id: ID,
  name: 'chr_20.zip',
  self_uri: `drs://broker.example.org/${ID}`,
  size: 3026302,
  created_time: '2025-06-02T10:02:41.000Z',
  updated_time: '2025-06-02T10:02:41.000Z',
  version: '223ecc62fddc58b0',
  mime_type: 'application/zip',
  checksums: [
    { type: 'sha-256', checksum: '223ecc62fddc58b0bf409804420758a39a2d723d638373134a21d26711d4a812' },
    { type: 'md5', checksum: 'b0bf332b78a72cd5123df12d3e3deaf6' },
  ],
  description: 'Result chr_20.zip of imputation run r1 on mis2',
  aliases: ['run:r1/chr_20.zip'],
  access_methods: [
    { type: 'https', access_url: { url: `https://broker.example.org/api/v1/objects/${ID}/content` }, available: true },
    { type: 'https', access_id: 'signed', available: true, authorizations },
  ],
};
/** A run bundle with a nested bundle expanded. */
const bundle = {
  id: 'b1',
  name: 'results',
  self_uri: 'drs://broker.example.org/b1',
  size: 10,
  created_time: '2025-06-02T10:02:41Z',
  checksums: [{ type: 'sha-256', checksum: 'ab' }],
  contents: [{ name: 'chr_20', id: 'b2', drs_uri: ['drs://broker.example.org/b2'], contents: [{ name: 'chr20.dose.vcf.gz', id: 'x', drs_uri: ['drs://broker.example.org/x'] }] }],
};
const serviceInfo = {
  id: 'org.ga4gh.imputation-broker.drs',
  name: 'Imputation federation broker (GA4GH DRS)',
  type: { group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' },
  organization: { name: 'Operators', url: 'https://broker.example.org' },
  documentationUrl: 'https://broker.example.org/docs',
  environment: 'dev',
  version: '0.1.0',
  maxBulkRequestLength: 1000,
  drs: { maxBulkRequestLength: 1000, objectCount: 24, totalObjectSize: 12298014 },
};
const summary = { requested: 2, resolved: 1, unresolved: 1 };
const unresolved = [{ error_code: 404, object_ids: ['nope'] }];

const with_ = <T extends object>(base: T, change: (copy: T) => void): T => {
  const copy = structuredClone(base);
  change(copy);
  return copy;
};
const errorsOf = (path: string, method: string, body: unknown, status = 200) => schemas.validateResponse(path, method, status, body).errors;

describe('the official document', () => {
  it('is DRS 1.5.0 with its 9 operations and 16 component schemas, all compiled strictly', () => {
    expect(schemas.spec.openapi).toMatch(/^3\.0/);
    expect(schemas.operations()).toHaveLength(9);
    expect(schemas.schemaNames()).toHaveLength(16);
  });

  it('reads responses through #/components/responses: component schemas, inline schemas, and no content', () => {
    expect(schemas.responseSpec('/objects/{object_id}', 'get', 200)).toEqual({ schemaName: 'DrsObject', contentTypes: ['application/json'] });
    expect(schemas.responseSpec('/objects/{object_id}', 'post', 404).schemaName).toBe('Error');
    // service-info is allOf[Service, DrsService]; the bulk answers are inline objects.
    expect(schemas.responseSpec('/service-info', 'get', 200).schemaName).toBe('GetServiceInfo.200');
    expect(schemas.responseSpec('/objects', 'post', 200).schemaName).toBe('GetBulkObjects.200');
    expect(schemas.responseSpec('/objects', 'options', 200).schemaName).toBe('OptionsBulkObject.200');
    expect(schemas.responseSpec('/objects/access', 'post', 200).schemaName).toBe('GetBulkAccessURL.200');
    for (const [path, method, status] of [
      ['/objects/{object_id}', 'get', 202],
      ['/objects/{object_id}', 'options', 204],
      ['/objects', 'options', 405],
    ] as const) {
      expect(schemas.responseSpec(path, method, status)).toEqual({ schemaName: null, contentTypes: [] });
    }
  });

  it('refuses a status the operation does not declare', () => {
    expect(() => schemas.responseSpec('/objects/{object_id}', 'post', 413)).toThrow(/does not declare status 413/);
    expect(() => schemas.responseSpec('/service-info', 'get', 404)).toThrow(/does not declare status 404/);
    expect(() => schemas.responseSpec('/objects/{object_id}', 'delete', 200)).toThrow(/no operation/);
  });
});

describe('valid bodies pass', () => {
  it('a blob, a bundle with nested contents, service-info, AccessURL, Authorizations, Error', () => {
    expect(errorsOf('/objects/{object_id}', 'get', blob)).toEqual([]);
    expect(errorsOf('/objects/{object_id}', 'post', bundle)).toEqual([]);
    expect(errorsOf('/service-info', 'get', serviceInfo)).toEqual([]);
    expect(errorsOf('/objects/{object_id}/access/{access_id}', 'get', { url: 'https://x.example/y?signature=z' })).toEqual([]);
    expect(errorsOf('/objects/{object_id}', 'options', authorizations)).toEqual([]);
    expect(errorsOf('/objects/{object_id}', 'get', { msg: 'Object x was not found.', status_code: 404 }, 404)).toEqual([]);
  });

  it('the three bulk answers', () => {
    expect(errorsOf('/objects', 'post', { summary, unresolved_drs_objects: unresolved, resolved_drs_object: [blob] })).toEqual([]);
    expect(errorsOf('/objects', 'options', { summary, unresolved_drs_objects: unresolved, resolved_drs_object: [authorizations] })).toEqual([]);
    const urls = [{ drs_object_id: ID, drs_access_id: 'signed', url: 'https://x.example/y' }];
    expect(errorsOf('/objects/access', 'post', { summary, unresolved_drs_objects: unresolved, resolved_drs_object_access_urls: urls })).toEqual([]);
  });

  it('what DRS 1.5 leaves open: unknown fields, and an access method with neither access_url nor access_id', () => {
    // No additionalProperties: false anywhere in 1.5 (the 1.2 compliance schemas differ; see drs-compliance.test.ts).
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, extra: 1 })).toEqual([]);
    // "At least one of access_url and access_id must be provided" is prose only; drs.contract.test.ts
    // and the compliance suite's has_access_info case check it on the live answers.
    expect(errorsOf('/objects/{object_id}', 'get', with_(blob, (b) => (b.access_methods = [{ type: 'https' } as never])))).toEqual([]);
  });
});

describe('invalid bodies fail, with the reason', () => {
  it('service-info: wrong types and enums inside allOf[Service, DrsService] (Dredd passes these)', () => {
    expect(errorsOf('/service-info', 'get', { ...serviceInfo, maxBulkRequestLength: '1000' })).toEqual(['/maxBulkRequestLength: must be integer']);
    expect(errorsOf('/service-info', 'get', { ...serviceInfo, type: { ...serviceInfo.type, artifact: 'wes' } })).toEqual([
      '/type/artifact: must be equal to one of the allowed values (["drs"])',
    ]);
    expect(errorsOf('/service-info', 'get', { ...serviceInfo, drs: { objectCount: 1.5 } })).toEqual([
      "/drs: must have required property 'maxBulkRequestLength'",
      '/drs/objectCount: must be integer',
    ]);
    expect(errorsOf('/service-info', 'get', { ...serviceInfo, organization: { name: 'x', url: 'not a uri' } })).toEqual(['/organization/url: must match format "uri"']);
  });

  it('service-info: required fields of both halves of the allOf', () => {
    const info: Record<string, unknown> = { ...serviceInfo };
    delete info.maxBulkRequestLength;
    delete info.organization;
    expect(errorsOf('/service-info', 'get', info).sort()).toEqual(["(root): must have required property 'maxBulkRequestLength'", "(root): must have required property 'organization'"]);
  });

  it('DrsObject: missing checksums, empty checksums (minItems), empty access_methods (minItems), a checksum without type', () => {
    const noChecksums: Record<string, unknown> = { ...blob };
    delete noChecksums.checksums;
    expect(errorsOf('/objects/{object_id}', 'get', noChecksums)).toEqual(["(root): must have required property 'checksums'"]);
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, checksums: [] })).toEqual(['/checksums: must NOT have fewer than 1 items']);
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, access_methods: [] })).toEqual(['/access_methods: must NOT have fewer than 1 items']);
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, checksums: [{ checksum: 'ab' }] })).toEqual(["/checksums/0: must have required property 'type'"]);
  });

  it('DrsObject: types and formats (size an int64, created_time an RFC 3339 date-time)', () => {
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, size: '3026302' })).toEqual(['/size: must be integer']);
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, size: 1.5 })).toEqual(['/size: must be integer', '/size: must match format "int64"']);
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, created_time: 'yesterday' })).toEqual(['/created_time: must match format "date-time"']);
    expect(errorsOf('/objects/{object_id}', 'get', { ...blob, aliases: 'run:r1' })).toEqual(['/aliases: must be array']);
  });

  it('AccessMethod: an unknown type, a wrong type inside allOf[AccessURL] and allOf[Authorizations], available not a boolean', () => {
    const method = (change: (m: Record<string, unknown>) => void) => with_(blob, (b) => change(b.access_methods[1] as Record<string, unknown>));
    expect(errorsOf('/objects/{object_id}', 'get', method((m) => (m.type = 'http')))).toEqual([
      '/access_methods/1/type: must be equal to one of the allowed values (["s3","gs","ftp","gsiftp","globus","htsget","https","file"])',
    ]);
    expect(errorsOf('/objects/{object_id}', 'get', method((m) => (m.access_url = { headers: ['a: b'] })))).toEqual(["/access_methods/1/access_url: must have required property 'url'"]);
    expect(errorsOf('/objects/{object_id}', 'get', method((m) => (m.access_url = { url: 42 })))).toEqual(['/access_methods/1/access_url/url: must be string']);
    expect(errorsOf('/objects/{object_id}', 'get', method((m) => (m.authorizations = { supported_types: ['Magic'] })))).toEqual([
      '/access_methods/1/authorizations/supported_types/0: must be equal to one of the allowed values (["None","BasicAuth","BearerAuth","PassportAuth"])',
    ]);
    expect(errorsOf('/objects/{object_id}', 'get', method((m) => (m.available = 'yes')))).toEqual(['/access_methods/1/available: must be boolean']);
  });

  it('ContentsObject: a nested entry without name, drs_uri not a list', () => {
    const nested = with_(bundle, (b) => delete (b.contents[0]!.contents[0] as { name?: string }).name);
    expect(errorsOf('/objects/{object_id}', 'get', nested)).toEqual(["/contents/0/contents/0: must have required property 'name'"]);
    const uri = with_(bundle, (b) => ((b.contents[0] as { drs_uri: unknown }).drs_uri = 'drs://x/y'));
    expect(errorsOf('/objects/{object_id}', 'get', uri)).toEqual(['/contents/0/drs_uri: must be array']);
  });

  it('bulk answers: a bad summary, a bad unresolved entry, an invalid resolved item', () => {
    expect(errorsOf('/objects', 'post', { summary: { ...summary, requested: '2' }, resolved_drs_object: [] })).toEqual(['/summary/requested: must be integer']);
    expect(errorsOf('/objects', 'post', { summary, unresolved_drs_objects: [{ error_code: '404', object_ids: 'nope' }] })).toEqual([
      '/unresolved_drs_objects/0/error_code: must be integer',
      '/unresolved_drs_objects/0/object_ids: must be array',
    ]);
    expect(errorsOf('/objects', 'post', { summary, resolved_drs_object: [{ ...blob, id: 7 }] })).toEqual(['/resolved_drs_object/0/id: must be string']);
    expect(errorsOf('/objects', 'options', { summary, resolved_drs_object: [{ supported_types: 'BearerAuth' }] })).toEqual(['/resolved_drs_object/0/supported_types: must be array']);
    expect(errorsOf('/objects/access', 'post', { summary, resolved_drs_object_access_urls: [{ drs_object_id: ID }] })).toEqual([
      "/resolved_drs_object_access_urls/0: must have required property 'url'",
    ]);
  });

  it('AccessURL without url, headers not strings; an Error with the wrong types', () => {
    expect(errorsOf('/objects/{object_id}/access/{access_id}', 'post', { headers: [] })).toEqual(["(root): must have required property 'url'"]);
    expect(errorsOf('/objects/{object_id}/access/{access_id}', 'get', { url: 'u', headers: [1] })).toEqual(['/headers/0: must be string']);
    expect(errorsOf('/objects', 'post', { msg: 413, status_code: '413' }, 413)).toEqual(['/msg: must be string', '/status_code: must be integer']);
  });
});

describe('the contract check fails on what the schema alone cannot see', () => {
  const rec = new ContractRecorder(schemas);

  it('an undeclared status, a wrong Content-Type, status_code ≠ HTTP status, an empty msg, a body where none is declared', () => {
    expect(() => rec.verify('/objects/{object_id}', 'POST', json(413, { msg: 'x', status_code: 413 }))).toThrow(/status 413 is not declared/);
    expect(() => rec.verify('/objects/{object_id}', 'GET', json(200, blob, 'text/html'))).toThrow(/Content-Type 'text\/html'/);
    expect(() => rec.verify('/objects/{object_id}', 'GET', json(404, { msg: 'gone', status_code: 400 }))).toThrow(/status_code 400 differs from HTTP status 404/);
    expect(() => rec.verify('/objects', 'POST', json(401, { msg: '', status_code: 401 }))).toThrow(/msg must be a non-empty string/);
    expect(() => rec.verify('/objects/{object_id}', 'GET', json(202, { msg: 'later' }))).toThrow(/declares no content/);
    expect(() => rec.verify('/objects/{object_id}', 'GET', json(200, { ...blob, checksums: [] }))).toThrow(/not a valid DrsObject: \/checksums/);
  });

  it('an undeclared error must be undeclared and still an Error', () => {
    expect(() => rec.verifyUndeclaredError('/objects/{object_id}', 'GET', json(404, { msg: 'x', status_code: 404 }))).toThrow(/is declared/);
    expect(() => rec.verifyUndeclaredError('/objects/{object_id}', 'POST', json(413, { msg: 7, status_code: 413 }))).toThrow(/not a valid Error/);
    expect(rec.verifyUndeclaredError('/api/v1/objects/{object_id}/content', 'GET', json(416, { msg: 'Range not satisfiable.', status_code: 416 }), { outsideDocument: true }).status).toBe(416);
  });

  it('and passes conforming responses, a no-content 204 included', () => {
    expect(rec.verify('/objects/{object_id}', 'GET', json(200, blob, 'application/json; charset=utf-8')).validation.valid).toBe(true);
    expect(rec.verify('/objects/{object_id}', 'OPTIONS', json(204, '', '')).status).toBe(204);
    expect(rec.verify('/service-info', 'GET', json(200, serviceInfo)).validation.schemaName).toBe('GetServiceInfo.200');
  });
});
