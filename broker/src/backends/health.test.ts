/**
 * Two broker replicas on one database, a Cloudgene simulator and a WES node with fault knobs:
 * an admin change on one replica is seen by the other; one replica, not both, probes a backend
 * per interval; health states (up, slow, down) with their history; and a 30-day outage
 * deactivating a backend, driven by an injected clock instead of a month of waiting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWesSimulator, FAST_WES_TIMING, STANDARD_WORKFLOW, type WesSimulator } from '@ibroker/adapters/wes/simulator/index';
import type { BackendConfig } from '../config';
import { loadConfig } from '../config';
import { userTokens } from '../dev/test-support';
import { createLogger } from '../logging';
import { startBroker, type BrokerHandle } from '../server';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { testRedisUrl } from '../testing/db';
import { submit } from '../testing/wes-client';
import type { DeactivationEvent, ProbeOutcome } from './health';

const dir = mkdtempSync(join(tmpdir(), 'ibroker-health-'));
const NODE_TOKEN = 'node-token-5c0ffee';
const DAY = 86_400_000;
const INTERVAL = 5 * 60_000;
const hg38 = join(import.meta.dirname, '../../../demo/data/hg38/chr20.vcf.gz');

let node: WesSimulator;
let nodeUrl: string;
let tb: TestBroker;
let b: BrokerHandle;
let admin: string;
/** The monitors' clock, moved by the tests. */
let now = Date.now();
const clock = () => new Date(now);
const deactivations: { replica: string; event: DeactivationEvent }[] = [];

const ENV = { BACKENDS_RELOAD_INTERVAL: '200ms', HEALTH_SLOW_THRESHOLD: '300ms' };

beforeAll(async () => {
  node = createWesSimulator({ flavor: 'standard', workDir: join(dir, 'wes'), tokens: { [NODE_TOKEN]: 'broker' }, timing: FAST_WES_TIMING, workflows: [STANDARD_WORKFLOW] });
  nodeUrl = `${await node.start(0, '127.0.0.1')}/ga4gh/wes/v1`;
  const wes: BackendConfig = {
    id: 'wes-node',
    kind: 'wes',
    name: 'WES node (simulator)',
    url: nodeUrl,
    token: NODE_TOKEN,
    flavor: 'standard',
    workflowUrl: STANDARD_WORKFLOW,
    workflowType: 'NFL',
    workflowTypeVersion: 'DSL2',
    inputMode: 'https',
    panels: [{ id: 'h3africa-v6hc-s', build: 'hg38', populations: ['afr'] }],
    maxConcurrentJobs: 2,
    pollIntervalMs: 200,
    maxPollIntervalMs: 2_000,
    retentionDays: 7,
    demo: true,
  };
  tb = await startTestBroker({
    profiles: [{ id: 'mis2', profile: 'mis2' }],
    backends: [wes],
    env: ENV,
    health: { autoStart: false, now: clock, onDeactivated: (event) => void deactivations.push({ replica: 'a', event }) },
  });
  // The second replica: same database, same DATA_DIR (so the same key ring), same CONFIG_FILE backends.
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: tb.broker.deps.config.databaseUrl!,
    DATA_DIR: tb.dataDir,
    DEMO: 'true',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(testRedisUrl() ? { REDIS_URL: testRedisUrl()! } : {}),
    ...ENV,
  });
  b = await startBroker({
    config,
    log: createLogger(config.logLevel),
    backends: tb.broker.deps.registry.list(),
    allowPrivateInputUrls: true,
    queueName: `runs-${config.databaseUrl!.split('/').pop()}`,
    health: { autoStart: false, now: clock, onDeactivated: (event) => void deactivations.push({ replica: 'b', event }) },
  });
  admin = (await userTokens(tb.broker.devOidc!, { username: 'admin', password: 'admin', redirectUri: `${tb.url}/auth/callback` })).access_token;
}, 120_000);

afterAll(async () => {
  await b?.close();
  await tb?.close();
  await node?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(base: string, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function eventually<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One round on both replicas at once, as two worker processes would run it. */
async function bothTick(): Promise<ProbeOutcome[]> {
  const [x, y] = await Promise.all([tb.broker.monitor!.tick(), b.monitor!.tick()]);
  return [...x, ...y];
}

const status = async (id: string) => (await call(tb.url, 'GET', `/api/v1/backends/${id}/health`, admin)).body;

describe('two replicas on one database', () => {
  it('the second replica rewrote nothing at start-up: same file, same rows, same versions', async () => {
    const rows = (await tb.broker.deps.ds.query(`SELECT id, version FROM backends ORDER BY id`)) as { id: string; version: number }[];
    expect(rows).toEqual([
      { id: 'mis2', version: 1 },
      { id: 'wes-node', version: 1 },
    ]);
  });

  it('an admin change on one replica is seen by the other, adapter, secret and switches included', async () => {
    const created = await call(tb.url, 'POST', '/api/v1/admin/backends', admin, {
      id: 'wes-2',
      kind: 'wes',
      name: 'Second WES account',
      url: nodeUrl,
      token: NODE_TOKEN,
      workflowUrl: STANDARD_WORKFLOW,
      workflowType: 'NFL',
      workflowTypeVersion: 'DSL2',
      panels: [{ id: 'h3africa-v6hc-s', build: 'hg38', populations: ['afr'] }],
    });
    expect(created.status).toBe(201);
    const seen = await eventually(() => b.deps.registry.get('wes-2'), (x) => x !== undefined);
    expect(seen?.config).toMatchObject({ name: 'Second WES account', token: NODE_TOKEN });
    expect((await seen!.adapter.health()).ok).toBe(true);
    const services = (await call(b.url, 'GET', '/ga4gh/registry/v1/services', null)).body as { id: string }[];
    expect(services.map((s) => s.id)).toContain('org.ga4gh.imputation-broker.backends.wes-2');

    const renamed = await call(tb.url, 'PATCH', '/api/v1/admin/backends/wes-2', admin, { name: 'Renamed', maxConcurrentJobs: 5 });
    expect(renamed.status).toBe(200);
    const after = await eventually(() => b.deps.registry.get('wes-2')!.config, (c) => c.name === 'Renamed');
    expect(after.maxConcurrentJobs).toBe(5);
    expect(b.deps.registry.meta('wes-2')!.version).toBe(renamed.body.version);

    expect((await call(tb.url, 'POST', '/api/v1/admin/backends/wes-2/disable', admin, { reason: 'test' })).status).toBe(200);
    await eventually(() => b.deps.registry.usable('wes-2'), (u) => !u);
    const view = (await b.deps.registry.views()).find((v) => v.id === 'wes-2')!;
    expect(view).toMatchObject({ enabled: false, deactivated: false });
    // Still known (runs in flight are followed), no longer offered.
    expect(b.deps.registry.get('wes-2')).toBeDefined();
  });

  it('one replica, not both, probes each backend per interval', async () => {
    now += INTERVAL;
    const first = await bothTick();
    expect(first.map((o) => o.backend).sort()).toEqual(['mis2', 'wes-node']);
    expect(first.every((o) => o.ok)).toBe(true);
    // Again at the same time, and just before the interval is over: nobody probes.
    expect(await bothTick()).toEqual([]);
    now += INTERVAL - 1;
    expect(await bothTick()).toEqual([]);
    now += 1;
    const second = await bothTick();
    expect(second.map((o) => o.backend).sort()).toEqual(['mis2', 'wes-node']);
    const rows = (await tb.broker.deps.ds.query(`SELECT backend_id, count(*)::int AS n FROM backend_health WHERE at > $1 GROUP BY backend_id ORDER BY backend_id`, [
      new Date(now - 2 * INTERVAL + 1),
    ])) as { backend_id: string; n: number }[];
    expect(rows).toEqual([
      { backend_id: 'mis2', n: 2 },
      { backend_id: 'wes-node', n: 2 },
    ]);
  });
});

describe('health states and history', () => {
  it('slow, then down with failing_since and the last error, then up again', async () => {
    node.setFaults({ latencyMs: 400 });
    now += INTERVAL;
    await bothTick();
    node.setFaults({ latencyMs: 0 });
    let h = await status('wes-node');
    expect(h.status).toBe('slow');
    expect(h.history[0]).toMatchObject({ ok: true, latency_ms: expect.any(Number) });
    expect(h.history[0].latency_ms).toBeGreaterThan(300);

    node.setDown(true);
    const firstFailure = now + INTERVAL;
    now = firstFailure;
    await bothTick();
    h = await status('wes-node');
    // One failure is a blip, not an outage.
    expect(h.status).toBe('slow');
    expect(h.current).toMatchObject({ healthy: true, consecutive_failures: 1, failing_since: new Date(firstFailure).toISOString() });
    now += INTERVAL;
    await bothTick();
    h = await status('wes-node');
    expect(h.status).toBe('down');
    expect(h.current).toMatchObject({ healthy: false, consecutive_failures: 2, failing_since: new Date(firstFailure).toISOString(), last_error: expect.any(String) });
    expect(h.history.slice(0, 2).map((p: { ok: boolean }) => p.ok)).toEqual([false, false]);
    // The list says so too, for every signed-in user.
    const list = (await call(tb.url, 'GET', '/api/v1/backends', admin)).body.backends as { id: string; status: string }[];
    expect(list.find((x) => x.id === 'wes-node')!.status).toBe('down');

    node.setDown(false);
    now += INTERVAL;
    await bothTick();
    h = await status('wes-node');
    expect(h.status).toBe('up');
    expect(h.current).toMatchObject({ healthy: true, consecutive_failures: 0, failing_since: null });
  });

  it('the run engine and the probes keep one state: failed calls count, a good probe ends the outage', async () => {
    await tb.broker.deps.registry.recordFailure('mis2', new Error('connect ECONNREFUSED'));
    await b.deps.registry.recordFailure('mis2', new Error('connect ECONNREFUSED'));
    expect((await status('mis2')).status).toBe('down');
    now += INTERVAL;
    await bothTick();
    expect((await status('mis2')).current).toMatchObject({ healthy: true, failing_since: null });
  });
});

describe('a long outage deactivates the backend', () => {
  it('after HEALTH_DEACTIVATE_AFTER (30 days) of failures: deactivated once, audited, the administrators told; enable brings it back', async () => {
    node.setDown(true);
    now += INTERVAL;
    const t0 = now;
    await bothTick();
    now = t0 + 29 * DAY;
    expect((await bothTick()).find((o) => o.backend === 'wes-node')).toMatchObject({ ok: false, deactivated: false });
    expect(tb.broker.deps.registry.usable('wes-node')).toBe(true);

    now = t0 + 30 * DAY;
    const outcome = (await bothTick()).filter((o) => o.backend === 'wes-node');
    expect(outcome).toHaveLength(1);
    expect(outcome[0]).toMatchObject({ ok: false, deactivated: true });
    expect(deactivations).toHaveLength(1);
    expect(deactivations[0]!.event).toMatchObject({ backend: 'wes-node', failingSince: new Date(t0) });

    const audit = (await tb.broker.deps.ds.query(`SELECT actor_subject, object_id, reason, details FROM audit_events WHERE action = 'backend.deactivated'`)) as {
      actor_subject: string | null;
      object_id: string;
      reason: string;
      details: Record<string, unknown>;
    }[];
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_subject: null, object_id: 'wes-node', details: { failing_since: new Date(t0).toISOString() } });
    expect(audit[0]!.reason).toContain(`No successful answer since ${new Date(t0).toISOString()} (longer than 30 days)`);

    // Whichever replica deactivated it, the other learns it at its next reload.
    await eventually(() => tb.broker.deps.registry.usable('wes-node'), (u) => !u);
    const h = await status('wes-node');
    expect(h).toMatchObject({ status: 'deactivated', enabled: true, deactivated: { at: new Date(now).toISOString(), reason: expect.stringContaining('/enable') } });
    // Both replicas stop offering it; runs asked for there are refused with the reason.
    await eventually(() => b.deps.registry.usable('wes-node'), (u) => !u);
    expect(b.deps.registry.usable('wes-node')).toBe(false);
    const services = (await call(b.url, 'GET', '/ga4gh/registry/v1/services', null)).body as { id: string }[];
    expect(services.map((s) => s.id)).not.toContain('org.ga4gh.imputation-broker.backends.wes-node');
    const token = await tb.token();
    const res = await submit(tb.url, token, { files: [hg38], params: { refpanel: 'h3africa-v6hc-s', population: 'afr', backend: 'wes-node' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { msg: string }).msg).toContain("Backend 'wes-node' is switched off");
    // It is no longer probed.
    now += INTERVAL;
    expect((await bothTick()).map((o) => o.backend)).toEqual(['mis2']);

    // An administrator brings it back; the outage clock starts again.
    node.setDown(false);
    const enabled = await call(tb.url, 'POST', '/api/v1/admin/backends/wes-node/enable', admin);
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ status: 'up', deactivated: null, health: { failing_since: null } });
    await eventually(() => b.deps.registry.usable('wes-node'), (u) => u);
    await eventually(() => tb.broker.deps.registry.usable('wes-node'), (u) => u);
    now += INTERVAL;
    expect((await bothTick()).find((o) => o.backend === 'wes-node')).toMatchObject({ ok: true });
    node.setDown(true);
    now += INTERVAL;
    expect((await bothTick()).find((o) => o.backend === 'wes-node')).toMatchObject({ ok: false, deactivated: false });
    node.setDown(false);
  });

  it('probe history older than HEALTH_HISTORY_RETENTION is dropped', async () => {
    const old = new Date(now - 31 * DAY);
    await tb.broker.deps.ds.query(`INSERT INTO backend_health (backend_id, at, ok, latency_ms, detail) VALUES ('mis2', $1, true, 5, 'old')`, [old]);
    now += 2 * 3_600_000;
    await bothTick();
    const left = (await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM backend_health WHERE at <= $1`, [old])) as { n: number }[];
    expect(left[0]!.n).toBe(0);
  });
});
