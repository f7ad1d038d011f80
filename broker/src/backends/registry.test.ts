/**
 * The registry of services on a real broker with a demo-like federation: two Cloudgene simulators
 * (MIS 2 and AfriGen-D profiles), a GA4GH WES node and a DNAstack Workbench, all over real HTTP.
 * Backends persisted at start-up, read by every signed-in user, managed by administrators only,
 * hostile input refused with a 4xx that names the field, secrets never echoed, panels listed and
 * recommended, and the public GA4GH Service Registry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnastackSimulator, DEFAULT_WORKFLOW, FAST_DNASTACK_TIMING, type DnastackSimulator } from '@ibroker/adapters/dnastack/simulator/index';
import { createWesSimulator, FAST_WES_TIMING, STANDARD_WORKFLOW, type WesSimulator } from '@ibroker/adapters/wes/simulator/index';
import type { BackendConfig } from '../config';
import { userTokens } from '../dev/test-support';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit, terminal, waitForState } from '../testing/wes-client';

const hg19 = join(import.meta.dirname, '../../../demo/data/hg19/chr20.vcf.gz');
const dir = mkdtempSync(join(tmpdir(), 'ibroker-registry-'));
const NODE_TOKEN = 'node-token-b7d1e4';
const CLIENT = { clientId: 'broker-client', clientSecret: 'dnastack-secret-93af2c', namespace: 'ns-test', email: 'broker@localhost' };

let tb: TestBroker;
let node: WesSimulator;
let workbench: DnastackSimulator;
let nodeUrl: string;
const tokens: Record<string, string> = {};
/** Every secret the test hands the broker: none may ever come back in a response. */
const secrets: string[] = [NODE_TOKEN, CLIENT.clientSecret];
const answers: string[] = [];

beforeAll(async () => {
  node = createWesSimulator({ flavor: 'standard', workDir: join(dir, 'wes'), tokens: { [NODE_TOKEN]: 'broker' }, timing: FAST_WES_TIMING, workflows: [STANDARD_WORKFLOW] });
  nodeUrl = `${await node.start(0, '127.0.0.1')}/ga4gh/wes/v1`;
  workbench = createDnastackSimulator({ workDir: join(dir, 'dnastack'), clients: [CLIENT], timing: FAST_DNASTACK_TIMING });
  const workbenchUrl = await workbench.start(0, '127.0.0.1');
  const common = { maxConcurrentJobs: 2, pollIntervalMs: 200, maxPollIntervalMs: 2_000, retentionDays: 7, demo: true } as const;
  const backends: BackendConfig[] = [
    {
      ...common,
      id: 'wes-node',
      kind: 'wes',
      name: 'WES 1.1 node (simulator)',
      url: nodeUrl,
      token: NODE_TOKEN,
      flavor: 'standard',
      workflowUrl: STANDARD_WORKFLOW,
      workflowType: 'NFL',
      workflowTypeVersion: 'DSL2',
      inputMode: 'https',
      location: 'Cape Town, ZA',
      // Test figures, not real ones: the broker shows what the operator configured.
      panels: [
        { id: 'h3africa-v6hc-s', label: 'H3Africa v6 High Coverage (GRCh38/hg38)', build: 'hg38', populations: ['afr'], samples: 4_000, variants: 40_000_000 },
        { id: 'node-only-hg38', build: 'hg38', populations: ['afr', 'eur'] },
      ],
      catalog: { builds: ['hg38'] },
    },
    {
      ...common,
      id: 'workbench',
      kind: 'dnastack',
      name: 'DNAstack Workbench (simulator)',
      url: workbenchUrl,
      token: CLIENT.clientSecret,
      clientId: CLIENT.clientId,
      workflowId: DEFAULT_WORKFLOW.id,
      workflowVersionId: DEFAULT_WORKFLOW.versionId,
      panels: [{ id: '1000g-phase-3-v5', build: 'hg19', populations: ['afr', 'amr', 'eas', 'eur', 'sas', 'all'] }],
    },
  ];
  tb = await startTestBroker({
    profiles: [
      { id: 'mis2', profile: 'mis2' },
      { id: 'afrigen', profile: 'afrigen' },
    ],
    backends,
    // Slow enough that a run is still on the backend when it gets disabled.
    timing: { imputation: 2_500 },
  });
  for (const b of tb.broker.deps.registry.list()) if (b.config.token) secrets.push(b.config.token);
  tokens['demo-cli'] = await tb.token('demo-cli');
  const redirectUri = `${tb.url}/auth/callback`;
  for (const u of ['alice', 'bob', 'admin']) tokens[u] = (await userTokens(tb.broker.devOidc!, { username: u, password: u, redirectUri })).access_token;
}, 120_000);

afterAll(async () => {
  await tb?.close();
  await node?.close();
  await workbench?.close();
  rmSync(dir, { recursive: true, force: true });
  // Checked last, over every answer of every test.
  for (const text of answers) for (const s of secrets) expect(text.includes(s), `a secret came back in: ${text.slice(0, 300)}`).toBe(false);
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function call(method: string, path: string, who: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...(who ? { Authorization: `Bearer ${tokens[who]}` } : {}), ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(`${tb.url}${path}`, init);
  const text = await res.text();
  answers.push(text);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** A 4xx in the GA4GH error shape whose message contains `words`; never a 5xx. */
async function refused(answer: Promise<Answer>, status: number, words: string | RegExp): Promise<Answer> {
  const a = await answer;
  expect(a.status, a.text).toBe(status);
  expect(a.body).toMatchObject({ status_code: status });
  if (typeof words === 'string') expect(a.body.msg).toContain(words);
  else expect(a.body.msg).toMatch(words);
  return a;
}

const cloudgeneInput = async (id: string, more: Record<string, unknown> = {}) => {
  const token = await tb.sims.afrigen!.createApiToken('broker');
  secrets.push(token);
  return { id, kind: 'cloudgene', name: `AfriGen-D copy ${id}`, url: tb.broker.deps.registry.get('afrigen')!.config.url, token, location: 'Cape Town, ZA', ...more };
};

describe('backends of CONFIG_FILE (and the demo) are in PostgreSQL', () => {
  it('every configured backend is a row with its settings and limits, and no secret', async () => {
    const rows = (await tb.broker.deps.ds.query(`SELECT id, kind, source, enabled, version, settings, limits, secret_fingerprint FROM backends ORDER BY id`)) as {
      id: string;
      kind: string;
      source: string;
      enabled: boolean;
      version: number;
      settings: Record<string, unknown>;
      limits: Record<string, unknown>;
      secret_fingerprint: string | null;
    }[];
    expect(rows.map((r) => [r.id, r.kind, r.source, r.enabled])).toEqual([
      ['afrigen', 'cloudgene', 'config', true],
      ['mis2', 'cloudgene', 'config', true],
      ['wes-node', 'wes', 'config', true],
      ['workbench', 'dnastack', 'config', true],
    ]);
    const text = JSON.stringify(rows);
    for (const s of secrets) expect(text).not.toContain(s);
    for (const r of rows) {
      expect(r.settings).not.toHaveProperty('token');
      expect(r.secret_fingerprint).toBeNull();
      expect(r.limits).toMatchObject({ maxConcurrentJobs: 2, pollIntervalMs: 200 });
    }
    expect(rows.find((r) => r.id === 'workbench')!.settings).toMatchObject({ clientId: CLIENT.clientId, workflowId: DEFAULT_WORKFLOW.id });
  });
});

describe('reading backends and their health (every signed-in user)', () => {
  it('lists every backend with its status; one backend in full, with its version as ETag', async () => {
    const list = await call('GET', '/api/v1/backends', 'alice');
    expect(list.status).toBe(200);
    expect(list.body.backends.map((b: { id: string }) => b.id)).toEqual(['mis2', 'afrigen', 'wes-node', 'workbench']);
    for (const b of list.body.backends) expect(['up', 'slow', 'unknown']).toContain(b.status);

    const one = await call('GET', '/api/v1/backends/wes-node', 'alice');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      id: 'wes-node',
      kind: 'wes',
      url: nodeUrl,
      location: 'Cape Town, ZA',
      source: 'config',
      enabled: true,
      disabled: null,
      deactivated: null,
      secret_configured: true,
      limits: { max_concurrent_jobs: 2, poll_interval_ms: 200, max_poll_interval_ms: 2000, retention_days: 7 },
      catalog: { builds: ['hg38'], panels: ['h3africa-v6hc-s', 'node-only-hg38'] },
    });
    expect(one.body.settings).toBeUndefined();
    expect(one.headers.get('etag')).toBe(`"${one.body.version}"`);
    // Administrators also see the settings (never the secret).
    const asAdmin = await call('GET', '/api/v1/backends/workbench', 'admin');
    expect(asAdmin.body.settings).toMatchObject({ clientId: CLIENT.clientId, workflowId: DEFAULT_WORKFLOW.id });
    expect(asAdmin.body.settings).not.toHaveProperty('token');
  });

  it('the health route gives the probe history with response times', async () => {
    await tb.broker.monitor!.tick();
    const h = await call('GET', '/api/v1/backends/mis2/health', 'bob');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ backend: 'mis2', enabled: true, deactivated: null, current: { healthy: true, failing_since: null } });
    expect(['up', 'slow']).toContain(h.body.status);
    expect(h.body.history.length).toBeGreaterThanOrEqual(1);
    expect(h.body.history[0]).toMatchObject({ ok: true, latency_ms: expect.any(Number), detail: expect.stringContaining('imputationserver2') });
    expect(h.body.summary).toMatchObject({ checks: h.body.history.length, uptime: 1 });
    expect(h.body.settings).toEqual({ check_interval_seconds: 300, deactivate_after_seconds: 30 * 86_400, slow_threshold_ms: 2000 });
  });

  it('refuses unknown ids with 404, bad queries with 400, and callers without a token with 401', async () => {
    await refused(call('GET', '/api/v1/backends/nope', 'alice'), 404, 'Backends: mis2, afrigen, wes-node, workbench');
    await refused(call('GET', '/api/v1/backends/nope/health', 'alice'), 404, 'No such backend');
    await refused(call('GET', '/api/v1/backends/mis2/health?limit=0', 'alice'), 400, 'limit must be a whole number from 1 to 5000');
    await refused(call('GET', '/api/v1/backends/mis2/health?since=yesterday', 'alice'), 400, 'since must be an RFC 3339 date-time');
    await refused(call('GET', `/api/v1/backends/${'x'.repeat(300)}`, 'alice'), 400, 'id');
    expect((await call('GET', '/api/v1/backends/mis2', null)).status).toBe(401);
    expect((await call('GET', '/api/v1/backends/mis2/health', null)).status).toBe(401);
  });
});

describe('the panel catalog', () => {
  it('lists one entry per (backend, panel) with populations, build and the counts the backend states', async () => {
    const all = await call('GET', '/api/v1/panels', 'alice');
    expect(all.status).toBe(200);
    const h3 = all.body.panels.filter((p: { id: string }) => p.id === 'h3africa-v6hc-s');
    expect(h3.map((p: { backend: string }) => p.backend).sort()).toEqual(['afrigen', 'wes-node']);
    expect(h3.find((p: { backend: string }) => p.backend === 'wes-node')).toMatchObject({ samples: 4000, variants: 40_000_000, build: 'hg38', available: true });
    // Cloudgene's app discovery states no counts: unknown, not guessed.
    expect(h3.find((p: { backend: string }) => p.backend === 'afrigen')).toMatchObject({ samples: null, variants: null, key: 'apps@h3africa-v6hc-s@1.0.0' });

    const afr38 = await call('GET', '/api/v1/panels?population=AFR&build=hg38', 'alice');
    expect(afr38.body.panels.length).toBeGreaterThan(0);
    for (const p of afr38.body.panels) {
      expect(p.build).toBe('hg38');
      expect(p.populations.map((x: { id: string }) => x.id)).toContain('afr');
    }
    const mine = await call('GET', '/api/v1/panels?backend=workbench', 'alice');
    expect(mine.body.panels.map((p: { backend: string; id: string }) => `${p.backend}/${p.id}`)).toEqual(['workbench/1000g-phase-3-v5']);
  });

  it('refuses an unknown backend (404) and impossible filters (400)', async () => {
    await refused(call('GET', '/api/v1/panels?backend=nope', 'alice'), 404, 'Backends: mis2, afrigen, wes-node, workbench');
    await refused(call('GET', '/api/v1/panels?build=hg37', 'alice'), 400, 'build must be hg19 or hg38');
    await refused(call('GET', `/api/v1/panels?population=${encodeURIComponent('<script>')}`, 'alice'), 400, 'a population id is 1 to 32 letters');
    expect((await call('GET', '/api/v1/panels', null)).status).toBe(401);
  });
});

describe('panel recommendation on the federation', () => {
  it('AFR on hg38: an H3Africa panel first, with reasons and the workflow_params to submit it with', async () => {
    const r = await call('GET', '/api/v1/panels/recommendation?ancestry=AFR&build=hg38', 'alice');
    expect(r.status).toBe(200);
    const best = r.body.recommendations[0];
    expect(best.panel.id).toMatch(/^h3africa/);
    // The WES node states its H3Africa panel's size: it wins the tie with AfriGen-D's.
    expect(best).toMatchObject({ rank: 1, backend: 'wes-node', panel: { id: 'h3africa-v6hc-s', samples: 4000 }, liftover: false });
    expect(best.params).toEqual({ backend: 'wes-node', refpanel: 'h3africa-v6hc-s', population: 'afr', build: 'hg38' });
    expect(best.reasons).toEqual(expect.arrayContaining(['an African reference panel, the best match for AFR ancestry', '4,000 samples, 40,000,000 variant sites']));
    const backendsInTop = new Set(r.body.recommendations.slice(0, 5).map((x: { backend: string }) => x.backend));
    expect(backendsInTop.has('afrigen')).toBe(true);
    // Ranked best first, scores never increase.
    const scores = r.body.recommendations.map((x: { score: number }) => x.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('hg19 input leaves out a node that takes hg38 only, and says why; lowercase ancestry is fine', async () => {
    const r = await call('GET', '/api/v1/panels/recommendation?ancestry=afr&build=hg19', 'alice');
    expect(r.status).toBe(200);
    expect(r.body.ancestry).toBe('AFR');
    expect(r.body.recommendations.some((x: { backend: string }) => x.backend === 'wes-node')).toBe(false);
    expect(r.body.excluded).toContainEqual({ backend: 'wes-node', panel: null, reason: 'wes-node accepts hg38 input, not hg19' });
    const mixed = await call('GET', '/api/v1/panels/recommendation?ancestry=mixed&build=hg19', 'alice');
    expect(mixed.body.recommendations[0].panel.populations.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(['afr', 'eur']));
  });

  it('refuses bad ancestry, build, backend and impossible panel/build combinations with a 4xx', async () => {
    await refused(call('GET', '/api/v1/panels/recommendation?ancestry=martian&build=hg38', 'alice'), 400, 'ancestry must be one of AFR, AMR, EAS, EUR, SAS, mixed, unknown');
    await refused(call('GET', '/api/v1/panels/recommendation?build=hg38', 'alice'), 400, 'ancestry');
    await refused(call('GET', '/api/v1/panels/recommendation?ancestry=AFR', 'alice'), 400, 'build must be hg19 or hg38');
    await refused(call('GET', '/api/v1/panels/recommendation?ancestry=AFR&build=GRCh38', 'alice'), 400, 'build must be hg19 or hg38');
    await refused(call('GET', '/api/v1/panels/recommendation?ancestry=AFR&build=hg38&backend=nope', 'alice'), 404, 'no such backend');
    await refused(call('GET', '/api/v1/panels/recommendation?ancestry=AFR&build=hg38&panel=nope', 'alice'), 404, 'panel: no backend offers it. Panels:');
    await refused(
      call('GET', '/api/v1/panels/recommendation?ancestry=AFR&build=hg19&panel=node-only-hg38', 'alice'),
      400,
      'panel node-only-hg38 cannot take hg19 input on any backend that takes runs: wes-node accepts hg38 input, not hg19',
    );
    const fits = await call('GET', '/api/v1/panels/recommendation?ancestry=AFR&build=hg38&panel=node-only-hg38', 'alice');
    expect(fits.body.recommendations.map((x: { backend: string }) => x.backend)).toEqual(['wes-node']);
  });
});

describe('the admin API: only administrators', () => {
  const routes: [string, string][] = [
    ['POST', '/api/v1/admin/backends'],
    ['PATCH', '/api/v1/admin/backends/mis2'],
    ['POST', '/api/v1/admin/backends/mis2/disable'],
    ['POST', '/api/v1/admin/backends/mis2/enable'],
    ['POST', '/api/v1/admin/backends/mis2/sync'],
  ];

  it.each(routes)('%s %s: 401 without a token, 403 for alice, bob and a client, before the body is read', async (method, path) => {
    expect((await call(method, path, null, { name: 'x' })).status).toBe(401);
    for (const who of ['alice', 'bob', 'demo-cli']) {
      // An invalid body too: refusing the caller comes first.
      await refused(call(method, path, who, '{not json'), 403, 'Only administrators may manage the backends');
    }
    expect(tb.broker.deps.registry.usable('mis2')).toBe(true);
  });

  it('refusals are audited as policy.denied', async () => {
    const rows = (await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'policy.denied' AND reason LIKE 'backends:admin%'`)) as { n: number }[];
    expect(rows[0]!.n).toBeGreaterThanOrEqual(15);
  });
});

describe('the admin API: hostile input gets a 4xx that names the field, never a 5xx', () => {
  it('POST /api/v1/admin/backends', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) => call('POST', '/api/v1/admin/backends', 'admin', body, headers);
    const good = await cloudgeneInput('hostile');
    const secret = good.token;
    await refused(post('{not json'), 400, /JSON/i);
    await refused(post('[]'), 400, '');
    await refused(post('"x"'), 400, '');
    await refused(post({ ...good, kind: undefined }), 400, 'kind must be one of "cloudgene"');
    await refused(post({ ...good, kind: 'slurm' }), 400, 'kind must be one of "cloudgene"');
    await refused(post({ ...good, id: 'Bad Id!' }), 400, 'id: backend id must be lower-case letters, digits and dashes');
    await refused(post({ ...good, id: undefined }), 400, 'id:');
    for (const url of ['ftp://example.org', 'javascript:alert(1)', 'file:///etc/passwd', 'not a url']) {
      await refused(post({ ...good, url }), 400, 'url: backend url must be an absolute http(s) URL');
    }
    await refused(post({ ...good, tokenn: 'typo' }), 400, 'unknown setting "tokenn"');
    await refused(post({ ...good, tokenEnv: 'HOME' }), 400, 'tokenEnv');
    await refused(post({ ...good, token: undefined, tokenFile: '/etc/passwd' }), 400, 'tokenFile');
    await refused(post({ ...good, demo: true }), 400, 'demo');
    await refused(post({ ...good, token: undefined }), 400, "token: required for a cloudgene backend: the service's API token");
    await refused(post({ ...good, token: 12345 }), 400, 'token');
    await refused(post({ ...good, token: '   ' }), 400, 'token: give the secret as a string');
    await refused(post({ ...good, maxConcurrentJobs: -1 }), 400, 'maxConcurrentJobs');
    await refused(post({ ...good, maxConcurrentJobs: 'lots' }), 400, 'maxConcurrentJobs');
    await refused(post({ ...good, enabled: 'yes' }), 400, 'enabled must be true or false');
    await refused(post({ id: 'w', kind: 'wes', name: 'w', url: nodeUrl, credentials: 'user' }), 400, 'credentials: "user" needs per-user API tokens');
    await refused(post({ id: 'w', kind: 'wes', name: 'w', url: nodeUrl }), 400, 'settings: WES adapter: workflowUrl, workflowType and workflowTypeVersion are required');
    await refused(post({ id: 'd', kind: 'dnastack', name: 'd', url: nodeUrl, clientId: 'c', workflowId: 'w', workflowVersionId: 'v', token: 's' }), 400, 'panels');
    // A Cloudgene token that has expired (a JWT with exp in the past) would never work.
    const expired = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'broker', exp: 1_000_000_000 })).toString('base64url')}.c2ln`;
    secrets.push(expired);
    await refused(post({ ...good, token: expired }), 400, 'token: this token expired on 2001-09-09');
    await refused(post({ ...good, id: 'mis2' }), 409, 'a backend "mis2" exists already');
    await refused(post({ ...good, name: 'x'.repeat(200_000) }), 400, 'name must be 1 to 200 characters');
    await refused(post({ ...good, location: 'x'.repeat(201) }), 400, 'location must be at most 200 characters');
    // Nothing of that was stored, and the secret was never echoed.
    const rows = (await tb.broker.deps.ds.query(`SELECT id FROM backends WHERE source = 'admin'`)) as { id: string }[];
    expect(rows.filter((r) => ['hostile', 'w', 'd'].includes(r.id))).toEqual([]);
    expect(answers.some((a) => a.includes(secret))).toBe(false);
  });

  it('PATCH, disable, enable and sync', async () => {
    await call('POST', '/api/v1/admin/backends', 'admin', await cloudgeneInput('patchme'));
    const patch = (id: string, body: unknown, headers: Record<string, string> = {}) => call('PATCH', `/api/v1/admin/backends/${id}`, 'admin', body, headers);
    await refused(patch('nope', { name: 'x' }), 404, 'No such backend');
    await refused(patch('mis2', { name: 'x' }), 409, 'defined in CONFIG_FILE');
    await refused(patch('patchme', '{nope'), 400, /JSON/i);
    await refused(patch('patchme', '[1]'), 400, 'body');
    await refused(patch('patchme', { id: 'other' }), 400, "id: a backend's id cannot be changed");
    await refused(patch('patchme', { kind: 'wes' }), 400, "kind: a backend's kind cannot be changed (it is cloudgene)");
    await refused(patch('patchme', { enabled: false }), 400, 'enabled: use POST /api/v1/admin/backends/patchme/enable or /disable');
    await refused(patch('patchme', { url: 'gopher://x' }), 400, 'url: backend url must be an absolute http(s) URL');
    await refused(patch('patchme', { name: null }), 400, 'name');
    await refused(patch('patchme', { token: null }), 400, 'token: required for a cloudgene backend');
    await refused(patch('patchme', { tokenFile: '/etc/shadow' }), 400, 'tokenFile');
    await refused(patch('patchme', { retentionDays: 0 }), 400, 'retentionDays');
    await refused(patch('patchme', { name: 'x' }, { 'If-Match': 'banana' }), 400, 'If-Match');
    await refused(patch('patchme', { name: 'x' }, { 'If-Match': '"999"' }), 412, 'is at version 1, not 999');

    const disable = (id: string, body?: unknown) => call('POST', `/api/v1/admin/backends/${id}/disable`, 'admin', body);
    await refused(disable('nope'), 404, 'No such backend');
    await refused(disable('patchme', { reason: 5 }), 400, 'reason');
    await refused(disable('patchme', { why: 'x' }), 400, 'body');
    await refused(disable('patchme', '{x'), 400, /JSON/i);
    await refused(disable('patchme', { reason: 'x'.repeat(501) }), 400, 'reason');
    await refused(call('POST', '/api/v1/admin/backends/nope/enable', 'admin'), 404, 'No such backend');
    await refused(call('POST', '/api/v1/admin/backends/nope/sync', 'admin'), 404, 'No such backend');
    await refused(call('POST', `/api/v1/admin/backends/${encodeURIComponent('../../etc')}/sync`, 'admin'), 404, 'No such backend');
    expect(tb.broker.deps.registry.meta('patchme')).toMatchObject({ enabled: true, version: 1 });
  });
});

describe('the admin API: create, change, disable, enable, sync', () => {
  it('creates a Cloudgene backend whose token is sealed in the vault, never returned, and takes it into service', async () => {
    const input = await cloudgeneInput('afrigen-2', { maxConcurrentJobs: 3 });
    const created = await call('POST', '/api/v1/admin/backends', 'admin', input);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'afrigen-2', kind: 'cloudgene', source: 'admin', enabled: true, secret_configured: true, version: 1, limits: { max_concurrent_jobs: 3 } });
    expect(created.text).not.toContain(input.token);
    const [row] = (await tb.broker.deps.ds.query(`SELECT row_to_json(b)::text AS text, secret_fingerprint FROM backends b WHERE id = 'afrigen-2'`)) as { text: string; secret_fingerprint: string }[];
    expect(row!.text).not.toContain(input.token);
    expect(row!.secret_fingerprint).toMatch(/^sha256:[0-9a-f]{8}$/);
    const vaulted = (await tb.broker.deps.ds.query(`SELECT sealed FROM credentials WHERE backend_id = 'afrigen-2' AND owner_issuer IS NULL`)) as { sealed: string }[];
    expect(vaulted).toHaveLength(1);
    expect(vaulted[0]!.sealed).not.toContain(input.token);

    // Its panels come from the server itself, now on request.
    const synced = await call('POST', '/api/v1/admin/backends/afrigen-2/sync', 'admin');
    expect(synced.status).toBe(200);
    expect(synced.body.panels.map((p: { id: string }) => p.id)).toContain('h3africa-v6hc-s');
    const panels = await call('GET', '/api/v1/panels?backend=afrigen-2', 'alice');
    expect(panels.body.panels.length).toBe(synced.body.panels.length);

    const audit = (await tb.broker.deps.ds.query(
      `SELECT actor_subject, object_id, details FROM audit_events WHERE action = 'admin.backend_changed' AND object_id = 'afrigen-2' ORDER BY at`,
    )) as { actor_subject: string; object_id: string; details: Record<string, unknown> }[];
    expect(audit.map((a) => a.details.change)).toEqual(['created', 'synced']);
    expect(audit[0]).toMatchObject({ actor_subject: 'admin', details: { secret_changed: true, version: 1 } });
    expect(JSON.stringify(audit)).not.toContain(input.token);

    // Runs go there: an explicit request reaches the new backend.
    const res = await submit(tb.url, tokens['demo-cli']!, { files: [join(import.meta.dirname, '../../../demo/data/hg38/chr20.vcf.gz')], params: { refpanel: 'h3africa-v6hc-s', population: 'afr', backend: 'afrigen-2' } });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    const log = await waitForState(tb.url, tokens['demo-cli']!, run_id, terminal, 60_000);
    expect(log.state).toBe('COMPLETE');
    expect(log.run_log?.system_logs?.join('\n')).toContain('Submitted to afrigen-2');
  });

  it('changes a backend: only what changed, a new version, the adapter rebuilt for a new token', async () => {
    const before = tb.broker.deps.registry.get('afrigen-2')!.adapter;
    const current = await call('GET', '/api/v1/backends/afrigen-2', 'admin');
    const renamed = await call('PATCH', '/api/v1/admin/backends/afrigen-2', 'admin', { name: 'AfriGen-D (second account)', location: null }, { 'If-Match': current.headers.get('etag')! });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'AfriGen-D (second account)', location: null, version: current.body.version + 1 });
    expect(renamed.headers.get('etag')).toBe(`"${current.body.version + 1}"`);
    // The name is not what the adapter is built from alone; a rebuild costs nothing, but a new token must give a new adapter.
    const token = await tb.sims.afrigen!.createApiToken('broker');
    secrets.push(token);
    const rotated = await call('PATCH', '/api/v1/admin/backends/afrigen-2', 'admin', { token });
    expect(rotated.status).toBe(200);
    expect(rotated.text).not.toContain(token);
    const after = tb.broker.deps.registry.get('afrigen-2')!;
    expect(after.adapter).not.toBe(before);
    expect(after.config.token).toBe(token);
    expect((await after.adapter.health()).ok).toBe(true);
    const audit = (await tb.broker.deps.ds.query(
      `SELECT details FROM audit_events WHERE action = 'admin.backend_changed' AND object_id = 'afrigen-2' AND details->>'change' = 'updated' ORDER BY at`,
    )) as { details: { fields: string[]; secret_changed: boolean } }[];
    expect(audit.map((a) => [a.details.fields, a.details.secret_changed])).toEqual([
      [['location', 'name'], false],
      [[], true],
    ]);
  });

  it('an open WES node needs no token; a stale If-Match is refused', async () => {
    const created = await call('POST', '/api/v1/admin/backends', 'admin', {
      id: 'open-node',
      kind: 'wes',
      name: 'Open node',
      url: nodeUrl,
      workflowUrl: STANDARD_WORKFLOW,
      workflowType: 'NFL',
      workflowTypeVersion: 'DSL2',
      enabled: false,
      panels: [{ id: 'h3africa-v6hc-s', build: 'hg38', populations: ['afr'] }],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ enabled: false, status: 'disabled', secret_configured: false, disabled: { reason: 'created disabled' } });
    await refused(call('PATCH', '/api/v1/admin/backends/open-node', 'admin', { name: 'n' }, { 'If-Match': '"0"' }), 412, 'someone changed it meanwhile');
  });

  it('a disabled backend takes no new runs, while a run already there is followed to the end; enable brings it back', async () => {
    const token = tokens['demo-cli']!;
    const res = await submit(tb.url, token, { files: [hg19], params: { refpanel: 'hapmap-2', population: 'eur', build: 'hg19', backend: 'mis2' } });
    const { run_id } = (await res.json()) as { run_id: string };
    await waitForState(tb.url, token, run_id, (l) => l.state === 'RUNNING', 30_000);

    const off = await call('POST', '/api/v1/admin/backends/mis2/disable', 'admin', { reason: 'maintenance window' });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ enabled: false, status: 'disabled', source: 'config', disabled: { reason: 'maintenance window', by: expect.stringContaining('admin') } });
    const seen = await call('GET', '/api/v1/backends/mis2', 'alice');
    expect(seen.body.disabled).toEqual({ at: expect.any(String), reason: 'maintenance window' });

    // No new runs: asked for by name, refused; by `auto`, routed elsewhere.
    const named = await submit(tb.url, token, { files: [hg19], params: { refpanel: 'hapmap-2', population: 'eur', build: 'hg19', backend: 'mis2' } });
    expect(named.status).toBe(400);
    expect(((await named.json()) as { msg: string }).msg).toContain("Backend 'mis2' is switched off on this broker");
    const hapmap = await submit(tb.url, token, { files: [hg19], params: { refpanel: 'hapmap-2', population: 'eur', build: 'hg19' } });
    expect(hapmap.status).toBe(400);
    expect(((await hapmap.json()) as { msg: string }).msg).toContain("Unknown reference panel 'hapmap-2'");
    const panels = await call('GET', '/api/v1/panels?backend=mis2', 'alice');
    expect(panels.body.panels.every((p: { available: boolean }) => !p.available)).toBe(true);

    const done = await waitForState(tb.url, token, run_id, terminal, 60_000);
    expect(done.state).toBe('COMPLETE');

    const on = await call('POST', '/api/v1/admin/backends/mis2/enable', 'admin');
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ enabled: true, disabled: null });
    expect(tb.broker.deps.registry.usable('mis2')).toBe(true);
  });

  it('sync of a backend that does not answer is a 502 and keeps its last catalog', async () => {
    workbench.setDown(true);
    try {
      const r = await refused(call('POST', '/api/v1/admin/backends/workbench/sync', 'admin'), 502, 'Backend workbench did not give its catalog');
      expect(r.body.msg).toContain('The last known catalog is kept');
      expect((await call('GET', '/api/v1/panels?backend=workbench', 'alice')).body.panels).toHaveLength(1);
    } finally {
      workbench.setDown(false);
    }
  });
});

describe('GA4GH Service Registry 1.0 (public)', () => {
  const R = '/ga4gh/registry/v1';

  it('lists the broker WES and DRS at its base URL and every enabled backend, with no secret and no token needed', async () => {
    const r = await call('GET', `${R}/services`, null);
    expect(r.status).toBe(200);
    const byId = new Map<string, any>(r.body.map((s: { id: string }) => [s.id, s]));
    const wesInfo = (await call('GET', '/ga4gh/wes/v1/service-info', null)).body;
    const drsInfo = (await call('GET', '/ga4gh/drs/v1/service-info', null)).body;
    expect(byId.get(wesInfo.id)).toMatchObject({ type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' }, url: tb.url });
    expect(byId.get(drsInfo.id)).toMatchObject({ type: { group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' }, url: tb.url });
    const backend = (id: string) => byId.get(`org.ga4gh.imputation-broker.backends.${id}`);
    expect(backend('mis2')).toMatchObject({ type: { group: 'org.genepi', artifact: 'cloudgene', version: '3' }, version: '2.0.12', environment: 'dev' });
    expect(backend('wes-node')).toMatchObject({ type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' }, url: nodeUrl.replace(/\/ga4gh\/wes\/v1$/, '') });
    expect(backend('workbench')).toMatchObject({ type: { group: 'org.ga4gh', artifact: 'wes', version: '1.0.0' } });
    expect(backend('afrigen-2')).toBeDefined();
    // Disabled ones are not offered to other nodes.
    expect(backend('open-node')).toBeUndefined();
    expect(r.text).not.toContain('clientId');
    expect(r.text).not.toContain(CLIENT.clientId);
  });

  it('one service by id, the distinct types, its own service-info; 404 and 405 in the registry error shape', async () => {
    const one = await call('GET', `${R}/services/org.ga4gh.imputation-broker.backends.afrigen`, null);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: 'afrigen simulator', organization: { name: 'afrigen simulator' } });
    const types = await call('GET', `${R}/services/types`, null);
    expect(types.body).toEqual(
      expect.arrayContaining([
        { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
        { group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' },
        { group: 'org.genepi', artifact: 'cloudgene', version: '3' },
        { group: 'org.ga4gh', artifact: 'wes', version: '1.0.0' },
      ]),
    );
    expect(new Set(types.body.map((t: object) => JSON.stringify(t))).size).toBe(types.body.length);
    const info = await call('GET', `${R}/service-info`, null);
    expect(info.body).toMatchObject({ type: { group: 'org.ga4gh', artifact: 'service-registry', version: '1.0.0' } });
    const missing = await call('GET', `${R}/services/nope`, null);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ status: 404, title: 'Not found', detail: expect.stringContaining('/services') });
    const post = await call('POST', `${R}/services`, null, {});
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(post.body).toMatchObject({ status: 405, title: 'Method not allowed' });
    expect((await call('GET', `${R}/elsewhere`, null)).body).toMatchObject({ status: 404 });
  });
});
