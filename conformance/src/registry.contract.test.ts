/**
 * The GA4GH Service Registry 1.0 of the broker, called live without credentials (it is public),
 * every answer checked against the official document with service-info 1.0.0's `Service` and
 * `ServiceType` inlined (registry-schema.ts). The federation: the launcher's two Cloudgene
 * simulators (CONFIG_FILE backends) plus a WES node and a DNAstack Workbench added through the
 * admin API, so every kind of backend entry is checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDnastackSimulator, DEFAULT_WORKFLOW, FAST_DNASTACK_TIMING, type DnastackSimulator } from '@ibroker/adapters/dnastack/simulator/index';
import { createWesSimulator, FAST_WES_TIMING, STANDARD_WORKFLOW, type WesSimulator } from '@ibroker/adapters/wes/simulator/index';
import { call } from './http';
import { startConformanceBroker, type ConformanceBroker } from './launcher';
import { registrySchemas } from './registry-schema';

const schemas = registrySchemas();
const dir = mkdtempSync(join(tmpdir(), 'ibroker-registry-contract-'));
const CLIENT = { clientId: 'c', clientSecret: 'dnastack-client-secret-41', namespace: 'ns', email: 'b@localhost' };
const ARTIFACT = /^([a-z][a-z0-9]*)(-[a-z0-9]+)*$/;
let tb: ConformanceBroker;
let node: WesSimulator;
let workbench: DnastackSimulator;
let registry: string;
const answered = new Set<string>();

beforeAll(async () => {
  tb = await startConformanceBroker({ adminUrl: inject('conformancePgAdminUrl') });
  registry = `${tb.url}/ga4gh/registry/v1`;
  node = createWesSimulator({ flavor: 'weskit', workDir: join(dir, 'wes'), timing: FAST_WES_TIMING });
  const nodeUrl = `${await node.start(0, '127.0.0.1')}/ga4gh/wes/v1`;
  workbench = createDnastackSimulator({ workDir: join(dir, 'dnastack'), clients: [CLIENT], timing: FAST_DNASTACK_TIMING });
  const workbenchUrl = await workbench.start(0, '127.0.0.1');
  const admin = await tb.userToken('admin');
  const add = async (body: Record<string, unknown>) => {
    const res = await call(`${tb.url}/api/v1/admin/backends`, admin, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };
  await add({
    id: 'weskit',
    kind: 'wes',
    name: 'WESkit node',
    url: nodeUrl,
    flavor: 'weskit',
    workflowUrl: 'file:imputation/main.nf',
    workflowType: 'NFL',
    workflowTypeVersion: '22.10.0',
    tags: { run_dir: 'file:runs/${runId}' },
    organization: { name: 'ILIFU', url: 'https://www.ilifu.ac.za' },
    panels: [{ id: 'h3africa-v6hc-s', build: 'hg38', populations: ['afr'] }],
  });
  await add({
    id: 'workbench',
    kind: 'dnastack',
    name: 'DNAstack Workbench',
    url: workbenchUrl,
    token: CLIENT.clientSecret,
    clientId: CLIENT.clientId,
    workflowId: DEFAULT_WORKFLOW.id,
    workflowVersionId: DEFAULT_WORKFLOW.versionId,
    panels: [{ id: '1000g-phase-3-v5', build: 'hg19', populations: ['afr', 'all'] }],
  });
  // Their catalogs (and so their versions in the entries) are known before anything is compared.
  for (const id of ['weskit', 'workbench']) expect((await call(`${tb.url}/api/v1/admin/backends/${id}/sync`, admin, { method: 'POST' })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  if (answered.size) console.info(`Service Registry contract calls: ${[...answered].sort().join(', ')}`);
  await tb?.close();
  await node?.close();
  await workbench?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A public GET checked against what the official document declares for (path, status). */
async function get(path: string, concrete: string, status = 200): Promise<unknown> {
  const res = await call(`${registry}${concrete}`, null);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(schemas.statusesOf(path, 'get')).toContain(String(status));
  expect((res.headers.get('content-type') ?? '').split(';')[0]).toBe('application/json');
  const v = schemas.validateResponse(path, 'get', status, res.body);
  expect(v.errors, `${v.schemaName}: ${v.errors.join('; ')}`).toEqual([]);
  answered.add(`GET ${path} ${status}`);
  return res.body;
}

describe('GA4GH Service Registry 1.0, against the official schema', () => {
  it('GET /service-info: a Service of type org.ga4gh:service-registry:1.0.0', async () => {
    const info = (await get('/service-info', '/service-info')) as { type: unknown };
    expect(info.type).toEqual({ group: 'org.ga4gh', artifact: 'service-registry', version: '1.0.0' });
  });

  it('GET /services: ExternalServices for the broker and every backend kind, with no secret', async () => {
    const list = (await get('/services', '/services')) as { id: string; type: { group: string; artifact: string }; url: string }[];
    const text = JSON.stringify(list);
    expect(text).not.toContain(CLIENT.clientSecret);
    expect(list.filter((s) => s.url === tb.url).map((s) => s.type.artifact).sort()).toEqual(['drs', 'wes']);
    const kinds = list.map((s) => `${s.type.group}:${s.type.artifact}`);
    expect(kinds).toEqual(expect.arrayContaining(['org.ga4gh:wes', 'org.ga4gh:drs', 'org.genepi:cloudgene']));
    for (const s of list) expect(s.type.artifact).toMatch(ARTIFACT);
    expect(list.map((s) => s.id)).toEqual(expect.arrayContaining(['org.ga4gh.imputation-broker.backends.weskit', 'org.ga4gh.imputation-broker.backends.workbench']));
    expect(new Set(list.map((s) => s.id)).size).toBe(list.length);
  });

  it('GET /services/{serviceId}: each one as listed; an unknown id is a 404 Error', async () => {
    const list = (await get('/services', '/services')) as { id: string }[];
    for (const s of list) expect(await get('/services/{serviceId}', `/services/${encodeURIComponent(s.id)}`)).toEqual(s);
    const missing = (await get('/services/{serviceId}', '/services/org.example.nothing', 404)) as { status: number; title: string };
    expect(missing).toMatchObject({ status: 404, title: 'Not found' });
  });

  it('GET /services/types: the distinct ServiceTypes of the listed services', async () => {
    const types = (await get('/services/types', '/services/types')) as object[];
    const listed = ((await get('/services', '/services')) as { type: object }[]).map((s) => JSON.stringify(s.type));
    expect(types.map((t) => JSON.stringify(t)).sort()).toEqual([...new Set(listed)].sort());
  });

  it('every operation of the official document was answered with 200', () => {
    for (const [path, method] of schemas.operations()) expect(answered.has(`${method.toUpperCase()} ${path} 200`), `${method} ${path}`).toBe(true);
  });
});
