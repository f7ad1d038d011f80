/**
 * The DNAstack Workbench simulator on the wire, with plain fetch: registry, wallet errors,
 * token checks, eWES refusals in DNAstack's error shape, paging, states and events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCohort } from '../../vcf/synth';
import { startInputServer, type InputServer } from '../../contract/input-server';
import { createDnastackSimulator, FAST_DNASTACK_TIMING, type DnastackSimulator } from './index';

const FIXTURES = resolve(__dirname, '../../../../../shared/backends/dnastack/examples');
const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(resolve(FIXTURES, name), 'utf8')) as Record<string, unknown>;
const CLIENT = { clientId: 'svc', clientSecret: 'svc-secret-0123456789', namespace: 'ns-1' };
const OTHER = { clientId: 'other', clientSecret: 'other-secret-0123456789', namespace: 'ns-2' };

let dir = '';
let clock = Date.parse('2025-10-16T10:00:00Z');
let sim: DnastackSimulator;
let base = '';
let inputs: InputServer;
let vcfUrl = '';
let ewes = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dna-sim-'));
  inputs = await startInputServer();
  const files = await writeSyntheticCohort(join(dir, 'cohort'), { build: 'hg19', chromosomes: ['20'], samples: 22, variantsPerChromosome: 200, seed: 5 });
  vcfUrl = (await inputs.add(files[0]?.path ?? '', 'chr20.vcf.gz')).url;
  sim = createDnastackSimulator({
    workDir: join(dir, 'sim'),
    clients: [CLIENT, OTHER],
    timing: FAST_DNASTACK_TIMING,
    tokenLifetimeSeconds: 300,
    defaultPageSize: 2,
    now: () => clock,
  });
  base = await sim.start();
  ewes = `${base}/services/ewes-service/`;
});
afterAll(async () => {
  await sim.close();
  await inputs.close();
  await rm(dir, { recursive: true, force: true });
});

async function token(client = CLIENT, resource = ewes): Promise<string> {
  const res = await fetch(`${base}/wallet/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: client.clientId, client_secret: client.clientSecret, grant_type: 'client_credentials', resource }),
  });
  return String(((await res.json()) as Record<string, unknown>).access_token);
}

async function call(path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  const res = await fetch(`${base}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

const runsPath = (ns = CLIENT.namespace): string => `/services/ewes-service/${ns}/ga4gh/wes/v1/runs`;

function runRequest(params: Record<string, unknown> = {}): string {
  return JSON.stringify({
    workflow_url: 'wf_8d2b1c/v1_0_3',
    workflow_type: 'WDL',
    workflow_type_version: '1.0',
    workflow_params: { 'imputation.vcf_files': [vcfUrl], 'imputation.reference_panel': '1000g-phase-3-v5', 'imputation.population': 'eur', 'imputation.build': 'hg19', ...params },
    tags: { broker_run_id: 'b-1' },
  });
}

async function until(t: string, id: string, states: string[]): Promise<Record<string, unknown>> {
  for (let i = 0; i < 600; i++) {
    const run = (await call(`${runsPath()}/${id}`, { token: t })).body;
    if (states.includes(String(run.state))) return run;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`run ${id} never reached ${states.join('/')}`);
}

describe('service registry', () => {
  it('lives where DNAstack puts it, with the exact Content-Type the client library demands', async () => {
    expect((await fetch(`${base}/services`)).status).toBe(404);
    expect((await fetch(`${base}/service-registry/services`)).status).toBe(404);
    const res = await fetch(`${base}/api/service-registry/services`);
    expect(res.headers.get('content-type')).toBe('application/json');
    const services = (await res.json()) as { type: { artifact: string }; url: string; authentication: { accessTokenUrl: string; resource: string }[] }[];
    expect(services.map((s) => s.type.artifact).sort()).toEqual(['ewes-service', 'workbench-user-service', 'workflow-service']);
    const e = services.find((s) => s.type.artifact === 'ewes-service');
    expect(e?.authentication[0]).toMatchObject({ accessTokenUrl: `${base}/wallet/oauth/token`, resource: ewes });
  });
});

describe('wallet', () => {
  const tokenCall = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    call('/wallet/oauth/token', { method: 'POST', body: new URLSearchParams(form), headers });

  it('issues expiring JWTs for the asked resources, with the namespace as sub', async () => {
    const res = await tokenCall({ client_id: 'svc', client_secret: CLIENT.clientSecret, grant_type: 'client_credentials', resource: `${ewes},${base}/services/user-service/` });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
    const claims = decodeJwt(String(res.body.access_token));
    expect(claims.sub).toBe('ns-1');
    expect(claims.aud).toEqual([ewes, `${base}/services/user-service/`]);
    expect(claims.exp).toBe(Math.floor(clock / 1000) + 300);
  });

  it('refuses as OAuth 2 says: invalid_client, unsupported_grant_type, invalid_request, invalid_target', async () => {
    expect(await tokenCall({ client_id: 'svc', client_secret: 'wrong', grant_type: 'client_credentials', resource: ewes })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client', error_description: 'Client authentication failed' },
    });
    expect((await tokenCall({ client_id: 'svc', client_secret: CLIENT.clientSecret, grant_type: 'password', resource: ewes })).body.error).toBe('unsupported_grant_type');
    expect((await tokenCall({ client_id: 'svc', client_secret: CLIENT.clientSecret, grant_type: 'client_credentials' })).body.error).toBe('invalid_request');
    expect((await tokenCall({ client_id: 'svc', client_secret: CLIENT.clientSecret, grant_type: 'client_credentials', resource: 'https://evil.example.org/' })).body.error).toBe('invalid_target');
    const basic = Buffer.from(`svc:${CLIENT.clientSecret}`).toString('base64');
    expect((await tokenCall({ grant_type: 'client_credentials', resource: ewes }, { Authorization: `Basic ${basic}` })).status).toBe(200);
  });

  it('services check the token: missing, for another service, expired, revoked', async () => {
    const none = await call(runsPath());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('invalid_token');
    const usersOnly = await token(CLIENT, `${base}/services/user-service/`);
    expect((await call(runsPath(), { token: usersOnly })).status).toBe(401);
    const t = await token();
    expect((await call(runsPath(), { token: t })).status).toBe(200);
    clock += 301_000;
    const expired = await call(runsPath(), { token: t });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('Jwt expired');
    const fresh = await token();
    sim.revokeTokens();
    expect((await call(runsPath(), { token: fresh })).headers.get('www-authenticate')).toContain('revoked');
  });
});

describe('eWES', () => {
  let t = '';
  beforeAll(async () => {
    t = await token();
  });

  it("keeps namespaces apart and refuses multipart, unknown workflows, inputs and engines in DNAstack's error shape", async () => {
    const foreign = await call(runsPath('ns-2'), { token: t });
    expect(foreign.status).toBe(403);
    expect(Object.keys(foreign.body).sort()).toEqual(existsSync(FIXTURES) ? Object.keys(fixture('error.json')).sort() : ['error_code', 'msg', 'timestamp', 'trace_id']);
    const form = new FormData();
    form.append('workflow_url', 'wf_8d2b1c/v1_0_3');
    expect((await call(runsPath(), { method: 'POST', body: form, token: t })).status).toBe(415);
    const json = { 'content-type': 'application/json' };
    const unknown = await call(runsPath(), { method: 'POST', token: t, headers: json, body: JSON.stringify({ workflow_url: 'wf_unknown/v1' }) });
    expect(unknown).toMatchObject({ status: 404, body: { msg: 'Workflow wf_unknown/v1 not found', error_code: 404 } });
    const badInput = await call(runsPath(), { method: 'POST', token: t, headers: json, body: runRequest({ 'imputation.nonsense': 1 }) });
    expect(badInput).toMatchObject({ status: 400, body: { msg: 'Unknown input(s) for imputation: imputation.nonsense' } });
    const badEngine = await call(runsPath(), {
      method: 'POST',
      token: t,
      headers: json,
      body: JSON.stringify({ ...(JSON.parse(runRequest()) as object), workflow_engine_parameters: { engine_id: 'nope' } }),
    });
    expect(badEngine).toMatchObject({ status: 400, body: { msg: 'Engine nope not found' } });
  });

  it('runs through PREPROCESSING to COMPLETE with the events of the fixture, unknown types included', async () => {
    const created = await call(runsPath(), { method: 'POST', token: t, headers: { 'content-type': 'application/json' }, body: runRequest() });
    expect(created.body).toMatchObject({ state: 'QUEUED', msg: null, error_code: null });
    const run = await until(t, String(created.body.run_id), ['COMPLETE']);
    const types = (run.events as { event_type: string }[]).map((e) => e.event_type);
    expect(types[0]).toBe('RUN_SUBMITTED');
    expect(types).toEqual(expect.arrayContaining(['PREPROCESSING', 'RUN_SUBMITTED_TO_ENGINE', 'STATE_TRANSITION', 'ENGINE_STATUS_UPDATE', 'SAMPLES_UPDATED', 'HOOK_EXECUTED']));
    if (existsSync(FIXTURES)) expect(Object.keys(run).sort()).toEqual(Object.keys(fixture('run.json')).sort());
    const outputs = run.outputs as Record<string, string | string[]>;
    expect(outputs['imputation.imputed_vcfs']).toHaveLength(1);
    expect(String(outputs['imputation.qc_report'])).toContain('X-Goog-Signature=');
    const tasks = await call(`${runsPath()}/${String(run.run_id)}/tasks`, { token: t });
    expect((tasks.body.tasks as { name: string; state: string }[]).map((x) => [x.name, x.state])).toEqual([
      ['imputation.validate', 'COMPLETE'],
      ['imputation.quality_control', 'COMPLETE'],
      ['imputation.minimac4', 'COMPLETE'],
      ['imputation.export', 'COMPLETE'],
    ]);
    expect((await call(`${runsPath()}/${String(run.run_id)}/cancel`, { method: 'POST', token: t })).status).toBe(409);
  });

  it('an input outside the namespace storage ends in PREPROCESSING_ERROR with an ERROR_OCCURRED event', async () => {
    const created = await call(runsPath(), { method: 'POST', token: t, headers: { 'content-type': 'application/json' }, body: runRequest({ 'imputation.vcf_files': ['gs://elsewhere/chr20.vcf.gz'] }) });
    const run = await until(t, String(created.body.run_id), ['PREPROCESSING_ERROR']);
    expect(run.errors).toEqual([`Input imputation.vcf_files[0] 'gs://elsewhere/chr20.vcf.gz' is not in a storage account of namespace ns-1`]);
    expect((run.events as { event_type: string }[]).some((e) => e.event_type === 'ERROR_OCCURRED')).toBe(true);
  });

  it('pages runs newest first with an absolute next_page_url', async () => {
    // Two runs so far (the refused submissions created none); the default page holds two.
    const all = await call(`${runsPath()}`, { token: t });
    expect(all.body.pagination).toEqual({ next_page_url: null, total_elements: 2 });
    expect((all.body.runs as { state: string }[]).map((r) => r.state)).toEqual(['PREPROCESSING_ERROR', 'COMPLETE']);
    const first = await call(`${runsPath()}?page_size=1`, { token: t });
    const pagination = first.body.pagination as { next_page_url: string; total_elements: number };
    expect(first.body.runs).toHaveLength(1);
    expect(pagination.next_page_url.startsWith(`${base}/services/ewes-service/ns-1/ga4gh/wes/v1/runs?`)).toBe(true);
    const next = await call(pagination.next_page_url.slice(base.length), { token: t });
    expect((next.body.runs as { state: string }[]).map((r) => r.state)).toEqual(['COMPLETE']);
    expect((next.body.pagination as { next_page_url: unknown }).next_page_url).toBeNull();
    expect(typeof first.body.next_page_token).toBe('string');
  });

  it.runIf(existsSync(FIXTURES))('lists engines in the shape of the fixture', async () => {
    const engines = await call(`/services/ewes-service/ns-1/engines`, { token: t });
    const expected = fixture('engines-list.json') as { engines: Record<string, unknown>[] };
    expect(Object.keys((engines.body.engines as Record<string, unknown>[])[0] ?? {}).sort()).toEqual(Object.keys(expected.engines[0] ?? {}).sort());
  });
});

describe('persistence', () => {
  it('finished runs survive a restart; a run in flight comes back SYSTEM_ERROR with an event saying why', async () => {
    const workDir = join(dir, 'persist');
    const first = createDnastackSimulator({ workDir, clients: [CLIENT], timing: { ...FAST_DNASTACK_TIMING, validation: 60_000 }, persistRuns: true, jwtSecret: 'persist-secret-0123456789abcdef' });
    const url = await first.start();
    const t1 = await (await fetch(`${url}/wallet/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, grant_type: 'client_credentials', resource: `${url}/services/ewes-service/` }),
    })).json() as { access_token: string };
    const created = await fetch(`${url}${runsPath()}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t1.access_token}`, 'content-type': 'application/json' },
      body: runRequest(),
    });
    const id = String(((await created.json()) as Record<string, unknown>).run_id);
    for (let i = 0; i < 200 && first.getRun(id)?.state !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 25));
    expect(first.getRun(id)?.state).toBe('RUNNING');
    await first.close();
    const second = createDnastackSimulator({ workDir, clients: [CLIENT], timing: FAST_DNASTACK_TIMING, persistRuns: true, jwtSecret: 'persist-secret-0123456789abcdef' });
    await second.start();
    try {
      const run = second.getRun(id);
      expect(run?.state).toBe('SYSTEM_ERROR');
      expect(run?.events.at(-1)).toMatchObject({ event_type: 'STATE_TRANSITION', metadata: { old_state: 'RUNNING', new_state: 'SYSTEM_ERROR' } });
      expect(run?.errors).toEqual(['The execution engine was restarted while the run was in flight']);
    } finally {
      await second.close();
    }
  });
});
