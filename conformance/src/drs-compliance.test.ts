/**
 * The GA4GH DRS Compliance Suite (re-created in drs-compliance.ts) against the live broker, with a
 * config like its `config_samples/*.json`: blobs and bundles, by bearer token and by Passport.
 *
 * The suite targets DRS **1.2.0**, and its schemas say `additionalProperties: false`; this broker
 * serves DRS **1.5.0**, whose additions (and those of 1.3 and 1.4) the 1.2 schemas refuse. So the
 * suite is run with its schemas as they are, and the test asserts that its failures are exactly
 * the known additions listed below and nothing else; then once more with exactly those fields
 * removed before validation, where everything passes. Any other failure is a real one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ComplianceSchemas,
  genericPath,
  runComplianceSuite,
  validateTestbedReport,
  type CaseDetail,
  type ComplianceRun,
  type RunOptions,
  type SuiteConfig,
} from './drs-compliance';
import { prepareDrsFixture, type DrsFixture } from './drs-fixture';
import { call, rawRequest } from './http';
import { startConformanceBroker, type ConformanceBroker } from './launcher';

/**
 * What the broker sends that the suite's DRS 1.2.0 schemas refuse: `(schema, where, field)`,
 * each with the DRS version that added it.
 */
const DRS_1_5_ADDITIONS = [
  { schema: 'service_info.json', path: '', property: 'maxBulkRequestLength', since: 'DRS 1.4 (DrsService requires it at the root; deprecated there in 1.5)' },
  { schema: 'service_info.json', path: '', property: 'drs', since: 'DRS 1.5 (drs: {maxBulkRequestLength, objectCount, totalObjectSize})' },
  { schema: 'v1.2.0/drs_object.json', path: '/access_methods/*', property: 'available', since: 'DRS 1.5 (AccessMethod.available)' },
  { schema: 'v1.2.0/drs_object.json', path: '/access_methods/*', property: 'authorizations', since: 'DRS 1.3 (AccessMethod.authorizations)' },
] as const;
const key = (schema: string, path: string, property: string) => `${schema} ${path || '(root)'} ${property}`;
const KNOWN = new Set(DRS_1_5_ADDITIONS.map((a) => key(a.schema, a.path, a.property)));

/** Removes exactly the DRS_1_5_ADDITIONS from a body about to be checked against `schema`. */
function withoutAdditions(body: unknown, schema: string): unknown {
  for (const a of DRS_1_5_ADDITIONS.filter((x) => x.schema === schema || (schema.endsWith('drs_bundle.json') && x.schema.endsWith('drs_object.json')))) {
    const visit = (node: unknown, segments: string[]): void => {
      if (typeof node !== 'object' || node === null) return;
      const [head, ...rest] = segments;
      if (head === undefined) {
        delete (node as Record<string, unknown>)[a.property];
        return;
      }
      if (head === '*') {
        if (Array.isArray(node)) node.forEach((n) => visit(n, rest));
        return;
      }
      visit((node as Record<string, unknown>)[head], rest);
    };
    visit(body, a.path.split('/').filter(Boolean));
  }
  return body;
}

let tb: ConformanceBroker;
let f: DrsFixture;
let config: SuiteConfig;
const schemas = new ComplianceSchemas();
const runs: Record<string, ComplianceRun> = {};

const options = (o: Partial<RunOptions> = {}): RunOptions => ({
  serverBaseUrl: f.drs,
  platformName: 'imputation federation broker',
  platformDescription: 'GA4GH DRS 1.5.0 endpoint of the genotype-imputation federation broker (conformance suite, loopback)',
  ...o,
});

beforeAll(async () => {
  tb = await startConformanceBroker({ adminUrl: inject('conformancePgAdminUrl') });
  f = await prepareDrsFixture(tb);
  const bearer = (drs_id: string, is_bundle = false) => ({ drs_id, auth_type: 'bearer' as const, auth_token: f.tokens.owner, is_bundle });
  const passport = (drs_id: string, is_bundle = false) => ({ drs_id, auth_type: 'passport' as const, auth_token: [f.passports.alice], is_bundle });
  const info = [
    bearer(f.privateRun.files.find((x) => x.name === 'chr_20.zip')!.id),
    bearer(f.privateRun.extracted[0]!.id),
    bearer(f.privateRun.inputs[0]!.id),
    bearer(f.privateRun.bundle, true),
    passport(f.datasetRun.files[0]!.id),
    passport(f.datasetRun.bundle, true),
  ];
  config = {
    service_info: { auth_type: 'none', auth_token: '' },
    drs_object_info: info,
    drs_object_access: info.map(({ drs_id, auth_type, auth_token }) => ({ drs_id, auth_type, auth_token })),
  };
  // The three runs the tests below read (each a few dozen requests).
  runs.faithful = await runComplianceSuite(config, options());
  runs.lowercase = await runComplianceSuite(config, options({ expandQueryValue: 'true' }));
  runs.stripped = await runComplianceSuite(config, options({ expandQueryValue: 'true', beforeSchema: withoutAdditions }));
});

afterAll(async () => {
  const path = process.env.DRS_COMPLIANCE_REPORT;
  if (path && runs.faithful) {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    writeFileSync(resolve(path), `${JSON.stringify(runs.faithful.report, null, 2)}\n`);
    console.info(`GA4GH testbed report of the DRS compliance suite (as the Python suite runs it): ${resolve(path)}`);
  }
  await tb?.close();
});

const failures = (run: ComplianceRun) => run.details.filter((d) => d.status === 'FAIL');
const isSchemaCase = (d: CaseDetail) => d.kind === 'response_schema' || d.kind === 'expand_bundle';
/** Failed schema cases whose every error is a known 1.5 addition. */
const onlyKnown = (d: CaseDetail) =>
  isSchemaCase(d) && d.errors.length > 0 && d.errors.every((e) => e.keyword === 'additionalProperties' && KNOWN.has(key(d.schema!, genericPath(e.instancePath), e.property!)));
const refused = (run: ComplianceRun) =>
  new Set(failures(run).flatMap((d) => (isSchemaCase(d) ? d.errors.filter((e) => e.keyword === 'additionalProperties').map((e) => key(d.schema!, genericPath(e.instancePath), e.property!)) : [])));

describe('the suite’s phases, tests and cases, as report_runner.py builds them', () => {
  it('service info, drs object info (6 objects), drs object access (one test per access id found)', () => {
    const { report, details } = runs.stripped!;
    expect(report.phases.map((p) => [p.phase_name, p.tests.length])).toEqual([
      ['service info', 1],
      ['drs object info', 6],
      // 4 blobs with the access ids `signed`; bundles have no access methods.
      ['drs object access', 4],
    ]);
    const kinds = (test: string) => details.filter((d) => d.test === test).map((d) => d.kind);
    const bundleTest = report.phases[1]!.tests.find((t) => t.test_name.includes(f.privateRun.bundle))!.test_name;
    expect(kinds(bundleTest)).toEqual(['status_code', 'content_type', 'response_schema', 'expand_bundle', 'has_access_methods', 'has_access_info']);
    expect(report.phases[2]!.tests.map((t) => t.test_name)).toEqual(
      config.drs_object_access.filter((o) => !o.drs_id.includes(f.privateRun.bundle) && o.drs_id !== f.datasetRun.bundle).map((o) => `Run test cases on the drs access endpoint for drs id = ${o.drs_id} and access id = signed; auth_type = ${o.auth_type}`),
    );
  });

  it('the broker copes with what Python requests sends: a JSON body {} on every GET, Content-Type application/json', async () => {
    const res = await rawRequest(`${f.drs}/objects/${f.privateRun.inputs[0]!.id}/access/signed`, {
      method: 'GET',
      headers: { Authorization: `Bearer ${f.tokens.owner}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    // Every status_code and content_type case passed, on every request of the three runs.
    for (const run of Object.values(runs)) {
      expect(run.details.filter((d) => d.kind === 'content_type' && d.status !== 'PASS')).toEqual([]);
    }
  });

  it('the report is a valid GA4GH testbed report (schema 0.1.0), its summary counting every case', () => {
    for (const run of Object.values(runs)) {
      expect(validateTestbedReport(run.report).errors).toEqual([]);
      const s = run.report.summary;
      expect(s.passed + s.warned + s.failed + s.skipped + s.unknown).toBe(run.details.length);
    }
    expect(validateTestbedReport({ ...runs.stripped!.report, status: 'DONE' }).valid).toBe(false);
  });
});

describe('1.2 suite vs 1.5 server: the schemas as they are', () => {
  it('with expand=true: the only failures are schema cases refusing exactly the known DRS 1.3/1.4/1.5 additions', () => {
    const run = runs.lowercase!;
    const unexpected = failures(run).filter((d) => !onlyKnown(d));
    expect(unexpected, JSON.stringify(unexpected, null, 1)).toEqual([]);
    expect([...refused(run)].sort()).toEqual([...KNOWN].sort());
    // Which cases: service-info, and the plain GetObject of each blob (bundles have no access methods).
    expect(failures(run).map((d) => `${d.phase}: ${d.kind}`)).toEqual([
      'service info: response_schema',
      ...Array.from({ length: 4 }, () => 'drs object info: response_schema'),
    ]);
    expect(run.report.status).toBe('FAIL');
  });

  it('the messages are those Python’s jsonschema prints', () => {
    const [info, blob] = failures(runs.lowercase!).map((d) => runs.lowercase!.report.phases.flatMap((p) => p.tests).flatMap((t) => t.cases)[runs.lowercase!.details.indexOf(d)]!.message);
    expect(info).toBe("Additional properties are not allowed ('maxBulkRequestLength', 'drs' were unexpected)");
    expect(blob).toBe("Additional properties are not allowed ('available' was unexpected)");
  });

  it('as the Python suite runs it (?expand=True): the same known 1.5 additions and nothing else', () => {
    const run = runs.faithful!;
    expect([...refused(run)].filter((k) => !KNOWN.has(k))).toEqual([]);
    expect(failures(run).filter((d) => !onlyKnown(d))).toEqual([]);
  });

  it('GET /objects/{bundle}?expand=True, the query Python requests writes for params={"expand": True}, is answered with the expanded bundle', async () => {
    const res = await call(`${f.drs}/objects/${f.privateRun.bundle}?expand=True`, f.tokens.owner);
    expect(res.status).toBe(200);
    expect((res.body as { contents?: { contents?: unknown[] }[] }).contents?.some((c) => Array.isArray(c.contents))).toBe(true);
  });
});

describe('1.2 suite vs 1.5 server: without exactly those fields', () => {
  it('every case passes; bundles WARN only because access_methods is optional for them', () => {
    const run = runs.stripped!;
    expect(failures(run)).toEqual([]);
    expect(run.details.filter((d) => d.status !== 'PASS').map((d) => `${d.kind} ${d.status}`)).toEqual(['has_access_methods WARN', 'has_access_methods WARN']);
    expect(run.report.status).toBe('WARN');
    expect(run.report.summary).toMatchObject({ failed: 0, unknown: 0, skipped: 0, warned: 2 });
  });

  it('removing one field less leaves exactly its failure: each addition is needed in the list', async () => {
    for (const addition of DRS_1_5_ADDITIONS) {
      const others = DRS_1_5_ADDITIONS.filter((a) => a !== addition);
      const run = await runComplianceSuite(
        { ...config, drs_object_info: config.drs_object_info.slice(0, 1), drs_object_access: [] },
        options({
          expandQueryValue: 'true',
          beforeSchema: (body, schema) => {
            for (const a of others) if (a.schema === schema) withoutOne(body, a.path, a.property);
            return body;
          },
        }),
      );
      expect([...refused(run)], addition.property).toEqual([key(addition.schema, addition.path, addition.property)]);
    }
  });
});

function withoutOne(body: unknown, path: string, property: string): void {
  const segments = path.split('/').filter(Boolean);
  const visit = (node: unknown, rest: string[]): void => {
    if (typeof node !== 'object' || node === null) return;
    if (!rest.length) {
      delete (node as Record<string, unknown>)[property];
      return;
    }
    const [head, ...tail] = rest;
    if (head === '*' && Array.isArray(node)) node.forEach((n) => visit(n, tail));
    else visit((node as Record<string, unknown>)[head!], tail);
  };
  visit(body, segments);
}

describe('the v1.3.0 schemas the suite ships but never uses', () => {
  it('accept authorizations (1.3) but refuse its drs_object_id (1.4); available passes only through a defect of the file', async () => {
    const blob = (await call(`${f.drs}/objects/${f.privateRun.files[0]!.id}`, f.tokens.owner)).body as { access_methods: unknown[] };
    const [direct, signed] = blob.access_methods.map((m) => schemas.validate('v1.3.0/access_method.json', m));
    expect(direct!.errors).toEqual([]);
    expect(signed!.errors.map((e) => `${e.instancePath} ${e.property}`)).toEqual(['/authorizations drs_object_id']);
    // access_method.json puts `required` and `additionalProperties: false` inside `properties`:
    // they constrain properties *named* so, not the object, so unknown fields like `available`
    // pass while a property called "additionalProperties" would fail.
    expect(schemas.validate('v1.3.0/access_method.json', { type: 'https', access_id: 'x', anything: 1 }).valid).toBe(true);
    expect(schemas.validate('v1.3.0/access_method.json', { type: 'https', additionalProperties: 1 }).valid).toBe(false);
  });

  it('cannot validate a DrsObject at all: drs_object.json refers to contents_object, the file defines content_object', () => {
    expect(() => schemas.validator('v1.3.0/drs_object.json')).toThrow(/can't resolve reference contents_object.json#\/definitions\/contents_object/);
  });
});

describe('the re-created checks can fail', () => {
  const res = (status: number, body: unknown, contentType: string | null = 'application/json') => ({ status, headers: new Headers(contentType ? { 'content-type': contentType } : {}), body });

  it('a blob without access_methods, or with one lacking both access_url and access_id (which the 1.5 schema cannot express)', async () => {
    const { createServer } = await import('node:http');
    const answers: Record<string, ReturnType<typeof res>> = {
      '/service-info': res(200, { id: 'x', name: 'x', type: { group: 'org.ga4gh', artifact: 'drs', version: '1.2.0' }, organization: { name: 'x', url: 'https://x' }, version: '1' }),
      '/objects/a': res(200, { id: 'a', self_uri: 'drs://x/a', size: 1, created_time: '2025-01-01T00:00:00Z', checksums: [{ type: 'md5', checksum: 'ab' }] }),
      '/objects/b': res(200, { id: 'b', self_uri: 'drs://x/b', size: 1, created_time: '2025-01-01T00:00:00Z', checksums: [{ type: 'md5', checksum: 'ab' }], access_methods: [{ type: 'https' }] }),
      '/objects/c': res(404, { msg: 'gone', status_code: 404 }, 'text/plain'),
    };
    const server = createServer((req, out) => {
      const a = answers[(req.url ?? '').replace('/ga4gh/drs/v1', '')] ?? res(404, {});
      out.writeHead(a.status, Object.fromEntries(a.headers)).end(JSON.stringify(a.body));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const port = (server.address() as { port: number }).port;
      const objects = ['a', 'b', 'c'].map((drs_id) => ({ drs_id, auth_type: 'none' as const, auth_token: '', is_bundle: false }));
      const run = await runComplianceSuite({ service_info: { auth_type: 'none', auth_token: '' }, drs_object_info: objects, drs_object_access: [] }, options({ serverBaseUrl: `http://127.0.0.1:${port}/ga4gh/drs/v1` }));
      const byObject = (id: string) => run.details.filter((d) => d.test.includes(`drs id = ${id};`) && d.status === 'FAIL').map((d) => d.kind);
      expect(run.details.filter((d) => d.phase === 'service info').every((d) => d.status === 'PASS')).toBe(true);
      expect(byObject('a')).toEqual(['has_access_methods', 'has_access_info']);
      expect(byObject('b')).toEqual(['has_access_info']);
      expect(byObject('c')).toEqual(['status_code', 'content_type', 'response_schema', 'has_access_methods', 'has_access_info']);
      expect(run.report.status).toBe('FAIL');
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });
});
