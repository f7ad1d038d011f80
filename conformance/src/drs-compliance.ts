/**
 * The GA4GH DRS Compliance Suite (ga4gh/drs-compliance-suite, Python, v1.0.3, `main` ad9a484),
 * re-created in TypeScript: the same requests, the same phases, tests and cases, the same
 * pass/fail rules, validated against the suite's own draft-07 JSON Schemas (copied, as data, to
 * `shared/ga4gh/conformance/drs-compliance-suite/schemas/`), and a GA4GH testbed report as its
 * result. The Python suite cannot run in CI (it is not packaged for Debian and may not be
 * committed here); this re-creation can.
 *
 * What the Python suite does, and so this file (compliance_suite/report_runner.py):
 * - phase "service info": `GET /service-info` with the configured credentials;
 * - phase "drs object info": per configured object, `GET /objects/{id}` (none/basic/bearer) or
 *   `POST /objects/{id}` with `{"passports": [...]}` (passport); for a bundle a second request
 *   with `expand` (`?expand=True` as Python `requests` writes a boolean query value, or
 *   `"expand": true` in the passport body), validated against `drs_bundle.json`; then
 *   `has_access_methods` (blobs: non-empty `access_methods`; bundles: WARN, as they are optional)
 *   and `has_access_info` (every access method has `access_url` or `access_id`; the access ids
 *   found are remembered);
 * - phase "drs object access": per configured object and per access id found,
 *   `GET`/`POST /objects/{id}/access/{access_id}`, validated against `access_url.json`;
 * - the common cases of every request: status is 200; Content-Type starts with
 *   `application/json`; the JSON body is valid against the schema.
 * Every request is sent the way `requests.request(method, url, params=..., json=body)` sends it:
 * with a JSON body (`{}` when there is nothing to say) and `Content-Type: application/json`, GET
 * included.
 *
 * Schema validation is Python `jsonschema.validate(instance, schema, resolver)`: draft-07,
 * `$ref`s resolved across files of one folder, and **no format checking** (no `format_checker`
 * is passed), so Ajv runs with `validateFormats: false`. The v1.2.0 files compile in Ajv's
 * strict mode; the v1.3.0 files (shipped with the suite, used by no release of it) only in
 * non-strict mode: `access_method.json` uses the OpenAPI keyword `example` and has `required`
 * and `additionalProperties` misplaced inside `properties`, and `drs_object.json` refers to
 * `contents_object.json#/definitions/contents_object`, which that folder names
 * `content_object`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { rawRequest, type JsonResponse } from './http';
import { officialSpecPath } from './openapi-schema';

export type AuthType = 'none' | 'basic' | 'bearer' | 'passport';
export type Status = 'UNKNOWN' | 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

/** The suite's `--config_file`, as in its `config/config_samples/*.json`. */
export interface SuiteConfig {
  service_info: { auth_type: AuthType; auth_token: string | string[] };
  drs_object_info: { drs_id: string; auth_type: AuthType; auth_token: string | string[]; is_bundle: boolean }[];
  drs_object_access: { drs_id: string; auth_type: AuthType; auth_token: string | string[] }[];
}

/** Constants of the suite (compliance_suite/constants.py). */
export const SUITE = {
  testbedName: 'DRS Compliance Suite',
  testbedVersion: 'v1.0.3',
  testbedDescription: 'Test the compliance of a DRS implementation with GA4GH DRS v1.2.0 specification',
  serviceInfoSchema: 'service_info.json',
  drsObjectSchema: 'drs_object.json',
  drsBundleSchema: 'drs_bundle.json',
  drsAccessSchema: 'access_url.json',
} as const;

// ---------------------------------------------------------------------------------------------
// The suite's JSON Schemas

export const complianceSchemaDir = (): string =>
  officialSpecPath({ envVar: 'GA4GH_DRS_COMPLIANCE_SCHEMAS', relative: 'ga4gh/conformance/drs-compliance-suite/schemas', label: 'DRS compliance suite schemas' });

/** One schema error, as the disagreement lists need it. */
export interface SchemaError {
  /** Where in the response, e.g. `/access_methods/1` (`''` for the root). */
  instancePath: string;
  keyword: string;
  /** For `additionalProperties`: the property that is not allowed. */
  property?: string;
  message: string;
}

export interface SchemaResult {
  valid: boolean;
  errors: SchemaError[];
}

const BASE = 'https://drs-compliance-suite.invalid/schemas/';

/** The suite's schema folder, compiled: `validate('v1.2.0/drs_object.json', body)`. */
export class ComplianceSchemas {
  readonly dir: string;
  private readonly byVersion = new Map<string, Ajv>();

  constructor(dir = complianceSchemaDir()) {
    this.dir = dir;
    for (const version of readdirSync(dir).filter((d) => /^v\d+\.\d+\.\d+$/.test(d))) {
      // v1.2.0 is clean enough for strict mode; v1.3.0 is not (see the module comment).
      const ajv = new Ajv({ strict: version === 'v1.2.0', allErrors: true, validateFormats: false, validateSchema: false });
      const add = (rel: string) => ajv.addSchema({ ...(JSON.parse(readFileSync(join(dir, rel), 'utf8')) as object), $id: BASE + rel });
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) add(f);
      for (const f of readdirSync(join(dir, version)).filter((x) => x.endsWith('.json'))) add(`${version}/${f}`);
      this.byVersion.set(version, ajv);
    }
  }

  /** `rel` is a file of the folder (`service_info.json`, `v1.2.0/drs_object.json`), optionally with a `#/definitions/...` fragment. */
  validator(rel: string): ValidateFunction {
    const version = /^(v\d+\.\d+\.\d+)\//.exec(rel)?.[1] ?? 'v1.2.0';
    const ajv = this.byVersion.get(version);
    if (!ajv) throw new Error(`no schema folder ${version} in ${this.dir}`);
    const v = ajv.getSchema(BASE + rel);
    if (!v) throw new Error(`no schema ${rel} in ${this.dir}`);
    return v;
  }

  validate(rel: string, body: unknown): SchemaResult {
    const v = this.validator(rel);
    const valid = v(body) === true;
    return { valid, errors: valid ? [] : toSchemaErrors(v.errors) };
  }
}

function toSchemaErrors(errors: ErrorObject[] | null | undefined): SchemaError[] {
  return (errors ?? []).map((e) => {
    const property = e.keyword === 'additionalProperties' ? String((e.params as { additionalProperty: unknown }).additionalProperty) : undefined;
    return { instancePath: e.instancePath, keyword: e.keyword, ...(property ? { property } : {}), message: e.message ?? e.keyword };
  });
}

/** What Python's jsonschema would print first for these errors, e.g. `Additional properties are not allowed ('drs' was unexpected)`. */
export function pythonLikeMessage(errors: SchemaError[]): string {
  const first = errors[0];
  if (!first) return 'Schema Validation Successful';
  if (first.keyword === 'additionalProperties') {
    const props = errors.filter((e) => e.keyword === 'additionalProperties' && e.instancePath === first.instancePath).map((e) => `'${e.property}'`);
    return `Additional properties are not allowed (${props.join(', ')} ${props.length === 1 ? 'was' : 'were'} unexpected)`;
  }
  const missing = /^must have required property '(.+)'$/.exec(first.message);
  if (missing) return `'${missing[1]}' is a required property`;
  return `${first.instancePath || '(root)'}: ${first.message}`;
}

// ---------------------------------------------------------------------------------------------
// The GA4GH testbed report (ga4gh-testbed-lib 0.2.0, report schema 0.1.0)

export interface Summary {
  unknown: number;
  passed: number;
  warned: number;
  failed: number;
  skipped: number;
}
export interface Case {
  case_name: string;
  case_description: string;
  log_messages: string[];
  start_time: string;
  end_time: string;
  status: Status;
  message: string;
}
export interface Test {
  test_name: string;
  test_description: string;
  start_time: string;
  end_time: string;
  status: Status;
  summary: Summary;
  cases: Case[];
}
export interface Phase {
  phase_name: string;
  phase_description: string;
  start_time: string;
  end_time: string;
  status: Status;
  summary: Summary;
  tests: Test[];
}
export interface TestbedReport {
  schema_name: 'ga4gh-testbed-report';
  schema_version: '0.1.0';
  testbed_name: string;
  testbed_version: string;
  testbed_description: string;
  platform_name: string;
  platform_description: string;
  input_parameters: Record<string, string>;
  start_time: string;
  end_time: string;
  status: Status;
  summary: Summary;
  phases: Phase[];
}

/** testbed-lib writes `%Y-%m-%dT%H:%M:%SZ`. */
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const emptySummary = (): Summary => ({ unknown: 0, passed: 0, warned: 0, failed: 0, skipped: 0 });
const KEY: Record<Status, keyof Summary> = { UNKNOWN: 'unknown', PASS: 'passed', WARN: 'warned', FAIL: 'failed', SKIP: 'skipped' };

/** testbed-lib's HasSummary: counts are cases at every level; FAIL > UNKNOWN > WARN > all SKIP > PASS. */
function statusOf(s: Summary): Status {
  const total = s.unknown + s.passed + s.warned + s.failed + s.skipped;
  if (s.failed > 0) return 'FAIL';
  if (s.unknown > 0) return 'UNKNOWN';
  if (s.warned > 0) return 'WARN';
  if (s.skipped === total) return 'SKIP';
  return 'PASS';
}
const add = (a: Summary, b: Summary): Summary => ({
  unknown: a.unknown + b.unknown,
  passed: a.passed + b.passed,
  warned: a.warned + b.warned,
  failed: a.failed + b.failed,
  skipped: a.skipped + b.skipped,
});

function finalize(report: TestbedReport): TestbedReport {
  let total = emptySummary();
  for (const phase of report.phases) {
    let ps = emptySummary();
    for (const test of phase.tests) {
      const ts = emptySummary();
      for (const c of test.cases) ts[KEY[c.status]]++;
      test.summary = ts;
      test.status = statusOf(ts);
      ps = add(ps, ts);
    }
    phase.summary = ps;
    phase.status = statusOf(ps);
    total = add(total, ps);
  }
  report.summary = total;
  report.status = statusOf(total);
  return report;
}

/** Validates a report against the testbed report schema 0.1.0 (see the function body for how it is read). */
export function validateTestbedReport(report: unknown, dir = officialSpecPath({ envVar: 'GA4GH_TESTBED_REPORT_SCHEMA', relative: 'ga4gh/conformance/testbed-report-schema', label: 'GA4GH testbed report schema' })): SchemaResult {
  // The files declare draft-04, all carry the draft-04 meta-schema's URI as their `$id`, and their
  // root `$ref`s name `.yaml` files that do not exist; only their `definitions` are usable. Those
  // use type/properties/required/additionalProperties/enum/items/$ref, which mean the same in
  // draft-07, so each file's definitions are registered under its own file name.
  const ajv = new Ajv({ strict: true, allErrors: true });
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const { definitions } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { definitions: object };
    ajv.addSchema({ $id: `https://testbed.invalid/${f}`, definitions });
  }
  const v = ajv.getSchema('https://testbed.invalid/ga4gh-testbed-report.json#/definitions/ga4ghTestbedReport');
  if (!v) throw new Error('the testbed report schema did not compile');
  const valid = v(report) === true;
  return { valid, errors: valid ? [] : toSchemaErrors(v.errors) };
}

// ---------------------------------------------------------------------------------------------
// The runner

export interface RunOptions {
  /** e.g. `http://127.0.0.1:8080/ga4gh/drs/v1` (`--server_base_url`). */
  serverBaseUrl: string;
  platformName: string;
  platformDescription: string;
  /** `--drs_version`: the schema folder; the suite supports only 1.2.0. */
  drsVersion?: '1.2.0';
  /**
   * How `expand` goes into the query string of a bundle's second request: `True` is what Python
   * `requests` writes for `params={'expand': True}` (faithful, the default); `true` is what
   * OpenAPI and every JavaScript client write.
   */
  expandQueryValue?: 'True' | 'true';
  /** Applied to each JSON body before schema validation, e.g. to remove the fields DRS 1.2 does not know. */
  beforeSchema?: (body: unknown, schema: string) => unknown;
}

/** What a case checks; the suite gives both access-method cases the same name. */
export type CaseKind = 'status_code' | 'content_type' | 'response_schema' | 'expand_bundle' | 'has_access_methods' | 'has_access_info';

export interface CaseDetail {
  phase: string;
  test: string;
  case: string;
  kind: CaseKind;
  /** The schema checked (`v1.2.0/drs_object.json`), for schema cases. */
  schema?: string;
  status: Status;
  /** Every schema error (the report's message has only the first, as Python prints). */
  errors: SchemaError[];
  /** The HTTP status of the response the case looked at. */
  httpStatus: number;
}

export interface ComplianceRun {
  report: TestbedReport;
  /** One entry per case, in report order, with what the report cannot hold. */
  details: CaseDetail[];
}

const PY_HEADERS = { 'User-Agent': 'python-requests/2.28.1', Accept: '*/*' };

function sendRequest(base: string, endpoint: string, authType: AuthType, authToken: string | string[], o: RunOptions, expand = false): Promise<JsonResponse> {
  const body: Record<string, unknown> = {};
  const headers: Record<string, string> = { ...PY_HEADERS, 'Content-Type': 'application/json' };
  let method = 'GET';
  if (authType === 'passport') {
    if (endpoint !== '/service-info') {
      body.passports = authToken;
      if (expand) body.expand = true;
      method = 'POST';
    }
  } else if (authType === 'basic') headers.Authorization = `Basic ${String(authToken)}`;
  else if (authType === 'bearer') headers.Authorization = `Bearer ${String(authToken)}`;
  const query = expand && authType !== 'passport' ? `?expand=${o.expandQueryValue ?? 'True'}` : '';
  return rawRequest(`${base}${endpoint}${query}`, { method, headers, body: JSON.stringify(body) });
}

class Builder {
  readonly details: CaseDetail[] = [];
  constructor(
    private readonly schemas: ComplianceSchemas,
    private readonly o: RunOptions,
  ) {}

  addCase(phase: Phase, test: Test, kind: CaseKind, name: string, description: string, run: () => { status: Status; message: string; log?: string[]; schema?: string; errors?: SchemaError[] }, httpStatus: number): Case {
    const start = now();
    const r = run();
    const c: Case = { case_name: name, case_description: description, log_messages: r.log ?? [], start_time: start, end_time: now(), status: r.status, message: r.message };
    test.cases.push(c);
    this.details.push({ phase: phase.phase_name, test: test.test_name, case: name, kind, ...(r.schema ? { schema: r.schema } : {}), status: r.status, errors: r.errors ?? [], httpStatus });
    return c;
  }

  statusCase(phase: Phase, test: Test, endpoint: string, res: JsonResponse): void {
    this.addCase(phase, test, 'status_code', `${endpoint} response status code validation`, 'Check if the response status code is 200', () =>
      res.status === 200 ? { status: 'PASS', message: 'Response status code is 200' } : { status: 'FAIL', message: `Expected status code 200, but got ${res.status}` }, res.status);
  }

  contentTypeCase(phase: Phase, test: Test, endpoint: string, res: JsonResponse): void {
    this.addCase(phase, test, 'content_type', `${endpoint} response content-type validation`, 'Check if the content-type is application/json', () => {
      const ct = res.headers.get('content-type');
      if (ct === null) return { status: 'FAIL', message: 'Missing Content-Type header' };
      return ct.startsWith('application/json')
        ? { status: 'PASS', message: 'Content-Type matches expected type' }
        : { status: 'FAIL', message: `Expected Content-Type application/json, but got Unexpected Content-Type: ${ct}` };
    }, res.status);
  }

  schemaCase(phase: Phase, test: Test, kind: 'response_schema' | 'expand_bundle', name: string, description: string, schema: string, res: JsonResponse): void {
    this.addCase(phase, test, kind, name, description, () => {
      if (typeof res.body === 'string') return { status: 'FAIL', message: 'Expecting value: line 1 column 1 (char 0)', schema, errors: [{ instancePath: '', keyword: 'json', message: 'the body is not JSON' }] };
      const body = this.o.beforeSchema ? this.o.beforeSchema(structuredClone(res.body), schema) : res.body;
      const r = this.schemas.validate(schema, body);
      return r.valid
        ? { status: 'PASS', message: 'Schema Validation Successful', schema }
        : { status: 'FAIL', message: pythonLikeMessage(r.errors), log: r.errors.map((e) => `Stack Trace: ${e.instancePath || '(root)'}: ${e.message}${e.property ? ` '${e.property}'` : ''}`), schema, errors: r.errors };
    }, res.status);
  }

  commonCases(phase: Phase, test: Test, endpoint: string, res: JsonResponse, schema: string): void {
    this.statusCase(phase, test, endpoint, res);
    this.contentTypeCase(phase, test, endpoint, res);
    this.schemaCase(phase, test, 'response_schema', `${endpoint} response schema validation`, `Validate ${endpoint} response schema when status = 200`, schema, res);
  }
}

const newTest = (name: string, description: string): Test => ({ test_name: name, test_description: description, start_time: now(), end_time: '', status: 'UNKNOWN', summary: emptySummary(), cases: [] });
const newPhase = (name: string, description: string): Phase => ({ phase_name: name, phase_description: description, start_time: now(), end_time: '', status: 'UNKNOWN', summary: emptySummary(), tests: [] });

const accessMethodsOf = (body: unknown): Record<string, unknown>[] | undefined => {
  const m = typeof body === 'object' && body !== null ? (body as { access_methods?: unknown }).access_methods : undefined;
  return Array.isArray(m) ? (m as Record<string, unknown>[]) : undefined;
};

/** Runs the three phases against `serverBaseUrl` with `config`; returns the finalized report and the details. */
export async function runComplianceSuite(config: SuiteConfig, o: RunOptions, schemas = new ComplianceSchemas()): Promise<ComplianceRun> {
  const base = o.serverBaseUrl.replace(/\/$/, '');
  const dir = `v${o.drsVersion ?? '1.2.0'}`;
  const b = new Builder(schemas, o);
  const report: TestbedReport = {
    schema_name: 'ga4gh-testbed-report',
    schema_version: '0.1.0',
    testbed_name: SUITE.testbedName,
    testbed_version: SUITE.testbedVersion,
    testbed_description: SUITE.testbedDescription,
    platform_name: o.platformName,
    platform_description: o.platformDescription,
    input_parameters: { server_base_url: base },
    start_time: now(),
    end_time: '',
    status: 'UNKNOWN',
    summary: emptySummary(),
    phases: [],
  };

  // PHASE: service info
  const info = newPhase('service info', 'run all the tests for service_info endpoint');
  report.phases.push(info);
  {
    const { auth_type, auth_token } = config.service_info;
    const test = newTest(`Run test cases on the service-info endpoint; auth_type = ${auth_type}`, 'validate service-info status code, content-type and response schemas');
    info.tests.push(test);
    const res = await sendRequest(base, '/service-info', auth_type, auth_token, o);
    // The suite looks for v<version>/service_info.json first; 1.2.0 has none, so the root one.
    b.commonCases(info, test, 'Service Info', res, SUITE.serviceInfoSchema);
    test.end_time = now();
  }
  info.end_time = now();

  // PHASE: drs object info
  const accessIds = new Map<string, string[]>();
  const objects = newPhase('drs object info', 'run all the tests for drs object info endpoint');
  report.phases.push(objects);
  for (const obj of config.drs_object_info) {
    const endpoint = 'DRS Object Info';
    const test = newTest(
      `Run test cases on the drs object info endpoint for drs id = ${obj.drs_id}; auth_type = ${obj.auth_type}`,
      'validate drs object status code, content-type and response schemas',
    );
    objects.tests.push(test);
    let res = await sendRequest(base, `/objects/${obj.drs_id}`, obj.auth_type, obj.auth_token, o);
    b.commonCases(objects, test, endpoint, res, `${dir}/${SUITE.drsObjectSchema}`);
    if (obj.is_bundle) {
      res = await sendRequest(base, `/objects/${obj.drs_id}`, obj.auth_type, obj.auth_token, o, true);
      b.schemaCase(objects, test, 'expand_bundle', 'DRS Access expand bundle validation', 'Validate DRS bundle when expand = True', `${dir}/${SUITE.drsBundleSchema}`, res);
    }
    const methods = accessMethodsOf(res.body);
    b.addCase(objects, test, 'has_access_methods', `${endpoint} has access information`, `Validate that ${endpoint} response has access_methods field provided and that it is non-empty`, () => {
      if (obj.is_bundle) return { status: 'WARN', message: 'access_methods is optional for a DRS Bundle' };
      return methods?.length
        ? { status: 'PASS', message: "'access_methods' is provided and it is non-empty." }
        : { status: 'FAIL', message: "'access_methods' is not provided. It is required and should be non-empty for a single-blob" };
    }, res.status);
    const ids: string[] = [];
    b.addCase(objects, test, 'has_access_info', `${endpoint} has access information`, `Validate that each access_method in the access_methods field of the ${endpoint} response has atleast one of 'access_url' or 'access_id' provided`, () => {
      const list = methods ?? [];
      const missing: string[] = [];
      list.forEach((m, i) => {
        if (!('access_url' in m) && !('access_id' in m)) missing.push(String(i + 1));
        if ('access_id' in m) ids.push(String(m.access_id));
      });
      if (list.length && !missing.length) return { status: 'PASS', message: "At least 'access_url' or 'access_id' is provided in all access_methods" };
      if (!list.length) {
        return obj.is_bundle
          ? { status: 'PASS', message: 'access_methods is not provided. It is not required for a DRS Bundle' }
          : { status: 'FAIL', message: 'access_methods is not provided. It is required and should be non-empty for a single-blob' };
      }
      return { status: 'FAIL', message: `Neither 'access_url' nor 'access_id' is provided in some or all access_methods - ${missing.join(', ')}` };
    }, res.status);
    accessIds.set(obj.drs_id, ids);
    test.end_time = now();
  }
  objects.end_time = now();

  // PHASE: drs object access
  const access = newPhase('drs object access', 'run all the tests for drs access endpoint');
  report.phases.push(access);
  for (const obj of config.drs_object_access) {
    for (const accessId of accessIds.get(obj.drs_id) ?? []) {
      const test = newTest(
        `Run test cases on the drs access endpoint for drs id = ${obj.drs_id} and access id = ${accessId}; auth_type = ${obj.auth_type}`,
        'validate drs access status code, content-type and response schemas',
      );
      access.tests.push(test);
      const res = await sendRequest(base, `/objects/${obj.drs_id}/access/${accessId}`, obj.auth_type, obj.auth_token, o);
      b.commonCases(access, test, 'DRS Access', res, `${dir}/${SUITE.drsAccessSchema}`);
      test.end_time = now();
    }
  }
  access.end_time = now();

  report.end_time = now();
  return { report: finalize(report), details: b.details };
}

/** `/access_methods/1` → `/access_methods/*`: where a field sits, whatever the index. */
export const genericPath = (instancePath: string): string => instancePath.replace(/\/\d+(?=\/|$)/g, '/*');
