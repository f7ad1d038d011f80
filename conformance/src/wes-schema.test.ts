/**
 * The validator itself: it must be able to fail. Dredd 14 cannot (wrong types, unknown enum
 * values and anything inside allOf/anyOf pass there), so these are the cases it misses, plus the
 * OpenAPI 3.0 specifics (nullable, $ref, formats, allOf) the conversion must keep.
 */
import { describe, expect, it } from 'vitest';
import { ContractRecorder } from './contract';
import { toJsonSchema } from './openapi-schema';
import { wesSchemas } from './wes-schema';

const schemas = wesSchemas();
const json = (status: number, body: unknown, contentType = 'application/json') => ({
  status,
  headers: new Headers({ 'content-type': contentType }),
  body,
});

const validRunLog = {
  run_id: 'r1',
  state: 'COMPLETE',
  request: { workflow_type: 'NFL', workflow_type_version: 'DSL2', workflow_url: 'https://example.org/wf', workflow_params: {} },
  run_log: { name: 'imputation', exit_code: 0, system_logs: [] },
  task_logs_url: 'https://example.org/ga4gh/wes/v1/runs/r1/tasks',
  task_logs: [{ id: 't1', name: 'Input Validation' }],
  outputs: {},
};

const validServiceInfo = {
  id: 'org.example.wes',
  name: 'WES',
  type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
  organization: { name: 'Example', url: 'https://example.org' },
  version: '1.0.0',
  workflow_type_versions: { NFL: { workflow_type_version: ['DSL2'] } },
  supported_wes_versions: ['1.1.0'],
  supported_filesystem_protocols: ['https'],
  workflow_engine_versions: { nextflow: { workflow_engine_version: ['24.10.4'] } },
  default_workflow_engine_parameters: [],
  system_state_counts: { COMPLETE: 1 },
  auth_instructions_url: 'https://example.org/auth',
  tags: {},
};

describe('the official document', () => {
  it('is WES 1.1.0 with its 8 operations and 17 component schemas, all compiled strictly', () => {
    expect(schemas.spec.openapi).toMatch(/^3\.0/);
    expect(schemas.operations()).toHaveLength(8);
    expect(schemas.schemaNames()).toHaveLength(17);
    expect(schemas.responseSpec('/runs/{run_id}', 'get', 200).schemaName).toBe('RunLog');
    expect(schemas.responseSpec('/runs/{run_id}', 'get', 404).schemaName).toBe('ErrorResponse');
    expect(schemas.responseSpec('/runs', 'post', 200).schemaName).toBe('RunId');
  });

  it('refuses a status the operation does not declare', () => {
    expect(() => schemas.responseSpec('/runs/{run_id}', 'get', 400)).toThrow(/does not declare status 400/);
    expect(() => schemas.responseSpec('/nope', 'get', 200)).toThrow(/no operation/);
  });
});

describe('valid bodies pass', () => {
  it('RunLog, ServiceInfo, RunListResponse, TaskListResponse, ErrorResponse', () => {
    expect(schemas.validateResponse('/runs/{run_id}', 'get', 200, validRunLog).errors).toEqual([]);
    expect(schemas.validateResponse('/service-info', 'get', 200, validServiceInfo).errors).toEqual([]);
    expect(schemas.validateResponse('/runs', 'get', 200, { runs: [{ run_id: 'a', state: 'QUEUED', tags: {} }], next_page_token: '' }).valid).toBe(true);
    expect(schemas.validateResponse('/runs/{run_id}/tasks', 'get', 200, { task_logs: [{ id: 't', name: 'n' }], next_page_token: '' }).valid).toBe(true);
    expect(schemas.validateResponse('/runs', 'get', 400, { msg: 'bad', status_code: 400 }).valid).toBe(true);
  });

  it('nullable: the deprecated task_logs may be null', () => {
    expect(schemas.validateSchema('RunLog', { ...validRunLog, task_logs: null }).errors).toEqual([]);
    expect(toJsonSchema({ type: 'array', nullable: true, items: { type: 'string' } })).toEqual({ type: ['array', 'null'], items: { type: 'string' } });
    expect(toJsonSchema({ type: 'string', enum: ['a'], nullable: true })).toEqual({ type: ['string', 'null'], enum: ['a', null] });
  });
});

describe('invalid bodies fail, with the reason', () => {
  it('a state outside the State enum (Dredd passes this)', () => {
    const r = schemas.validateResponse('/runs/{run_id}/status', 'get', 200, { run_id: 'r1', state: 'NOT_A_STATE' });
    expect(r.valid).toBe(false);
    expect(r.errors.join()).toMatch(/\/state: must be equal to one of the allowed values/);
    expect(schemas.validateSchema('RunLog', { ...validRunLog, state: 'DONE' }).valid).toBe(false);
  });

  it('a missing required field: RunStatus without run_id, TaskLog without name, RunSummary without tags', () => {
    expect(schemas.validateSchema('RunStatus', { state: 'QUEUED' }).errors).toEqual(["(root): must have required property 'run_id'"]);
    expect(schemas.validateResponse('/runs/{run_id}/tasks/{task_id}', 'get', 200, { id: 't1' }).errors).toEqual([
      "(root): must have required property 'name'",
    ]);
    expect(schemas.validateSchema('RunSummary', { run_id: 'a', state: 'QUEUED' }).valid).toBe(false);
    const info = { ...validServiceInfo } as Record<string, unknown>;
    delete info.auth_instructions_url;
    expect(schemas.validateResponse('/service-info', 'get', 200, info).errors.join()).toMatch(/auth_instructions_url/);
  });

  it('wrong types, also inside allOf and anyOf (Dredd passes these)', () => {
    const info = schemas.validateResponse('/service-info', 'get', 200, { ...validServiceInfo, supported_wes_versions: 123 });
    expect(info.errors).toEqual(['/supported_wes_versions: must be array']);
    expect(schemas.validateSchema('RunId', { run_id: 42 }).errors).toEqual(['/run_id: must be string']);
    expect(schemas.validateSchema('Log', { exit_code: '0' }).errors).toEqual(['/exit_code: must be integer']);
    expect(schemas.validateSchema('RunLog', { ...validRunLog, task_logs: [{ id: 't', name: 3 }] }).valid).toBe(false);
    expect(schemas.validateSchema('RunListResponse', { runs: [{ state: 'QUEUED' }], next_page_token: '' }).valid).toBe(false);
    expect(schemas.validateSchema('RunSummary', { run_id: 'a', tags: { k: 1 } }).errors).toEqual(['/tags/k: must be string']);
    expect(schemas.validateSchema('ServiceInfo', { ...validServiceInfo, system_state_counts: { COMPLETE: 1.5 } }).valid).toBe(false);
  });

  it('formats: organization.url must be a URI, exit_code an int32', () => {
    const bad = { ...validServiceInfo, organization: { name: 'x', url: 'not a uri' } };
    expect(schemas.validateSchema('ServiceInfo', bad).errors).toEqual(['/organization/url: must match format "uri"']);
    expect(schemas.validateSchema('Log', { exit_code: 2 ** 31 }).errors.join()).toMatch(/int32/);
  });

  it('an ErrorResponse with the wrong types', () => {
    const r = schemas.validateResponse('/runs/{run_id}', 'get', 404, { msg: 404, status_code: '404' });
    expect(r.errors).toEqual(['/msg: must be string', '/status_code: must be integer']);
  });
});

describe('the contract check fails on what the schema alone cannot see', () => {
  const rec = new ContractRecorder(schemas);

  it('an undeclared status, a wrong Content-Type, status_code ≠ HTTP status, an empty msg', () => {
    expect(() => rec.verify('/runs/{run_id}', 'GET', json(400, { msg: 'x', status_code: 400 }))).toThrow(/status 400 is not declared/);
    expect(() => rec.verify('/runs/{run_id}', 'GET', json(200, validRunLog, 'text/html'))).toThrow(/Content-Type 'text\/html'/);
    expect(() => rec.verify('/runs/{run_id}', 'GET', json(404, { msg: 'gone', status_code: 400 }))).toThrow(/status_code 400 differs from HTTP status 404/);
    expect(() => rec.verify('/runs', 'GET', json(401, { msg: '', status_code: 401 }))).toThrow(/msg must be a non-empty string/);
    expect(() => rec.verify('/runs', 'GET', json(200, 'not json'))).toThrow(/not a valid RunListResponse/);
  });

  it('and passes a conforming response', () => {
    expect(rec.verify('/runs/{run_id}', 'GET', json(200, validRunLog)).validation.valid).toBe(true);
    expect(rec.verify('/runs/{run_id}', 'GET', json(404, { msg: 'No run r1.', status_code: 404 }, 'application/json; charset=UTF-8')).status).toBe(404);
  });
});
