/**
 * A backend that answers garbage JSON, an HTML page, a 502 page from a gateway, resets the
 * connection or rate-limits (429 + Retry-After), put in front of a real Cloudgene simulator by the
 * adapters' hostile proxy: the user gets no 5xx, runs are neither failed nor stuck, and `auto`
 * runs move to a backend that works.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudgeneSimulator } from '@ibroker/adapters/cloudgene/simulator/index';
import { startHostileProxy, type HostileProxy, type ProxyMode } from '@ibroker/adapters/contract/hostile-proxy';
import type { RunLog } from '@ibroker/api-spec/index';
import type { BackendConfig } from '../config';
import { startTestBroker, type Simulator, type TestBroker } from '../testing/broker';
import { getJson, submit, terminal, waitForState } from '../testing/wes-client';

const chr20 = join(import.meta.dirname, '../../../demo/data/hg19/chr20.vcf.gz');
const params = { refpanel: 'hapmap-2', population: 'eur' };
const dir = mkdtempSync(join(tmpdir(), 'ibroker-hostile-'));
const FAST = { queue: 50, validation: 150, qc: 150, phasing: 200, imputation: 300, compression: 100, export: 100 };

let tb: TestBroker;
let token: string;
let proxy: HostileProxy;
const sims: Simulator[] = [];

async function backend(id: string, front?: (url: string) => Promise<string>): Promise<BackendConfig> {
  const sim = createCloudgeneSimulator({ profile: 'mis2', workDir: join(dir, id), users: [{ username: 'broker', password: 'pw' }], maxRunningJobsPerUser: 5, timing: FAST });
  sims.push(sim);
  const url = await sim.start(0, '127.0.0.1');
  return {
    id,
    kind: 'cloudgene',
    name: `${id} simulator`,
    url: front ? await front(url) : url,
    token: await sim.createApiToken('broker'),
    appId: 'imputationserver2',
    maxConcurrentJobs: 2,
    pollIntervalMs: 200,
    maxPollIntervalMs: 1_000,
    retentionDays: 7,
    demo: true,
  };
}

beforeAll(async () => {
  const hostile = await backend('hostile', async (url) => {
    proxy = await startHostileProxy(url);
    return proxy.url;
  });
  const plain = await backend('plain');
  tb = await startTestBroker({ profiles: [], backends: [hostile, plain], health: { autoStart: false } });
  token = await tb.token();
}, 120_000);
afterAll(async () => {
  await tb?.close();
  await proxy?.shutDown();
  await Promise.all(sims.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function newRun(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await submit(tb.url, token, { files: [chr20], params: { ...params, ...extra } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { run_id: string }).run_id;
}

describe('a hostile backend', () => {
  it.each<ProxyMode>(['garbage', 'html', 'html502', 'reset'])('%s: a run sent there is kept, not failed, and completes once the backend answers properly', async (mode) => {
    proxy.setMode(mode);
    const runId = await newRun({ backend: 'hostile' });
    // Let the worker meet the broken answers a few times.
    const end = Date.now() + 30_000;
    while (proxy.hits < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(proxy.hits).toBeGreaterThanOrEqual(3);
    const during = await getJson<RunLog>(`${tb.url}/ga4gh/wes/v1/runs/${runId}`, token);
    expect(during.status).toBe(200);
    expect(['QUEUED', 'INITIALIZING', 'RUNNING']).toContain(during.body.state);
    proxy.setMode('pass');
    const log = await waitForState(tb.url, token, runId, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    await tb.broker.deps.registry.recordSuccess('hostile', null);
  }, 150_000);

  it('rate-limited: an auto run moves to the next backend and every replica waits out the Retry-After', async () => {
    proxy.setMode('rate-limit');
    const runId = await newRun();
    const log = await waitForState(tb.url, token, runId, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    const routing = await getJson<{ backend: string; attempts: { backend: string; outcome: string; message: string }[] }>(`${tb.url}/api/v1/runs/${runId}/routing`, token);
    expect(routing.body.backend).toBe('plain');
    expect(routing.body.attempts.map((a) => [a.backend, a.outcome])).toEqual([
      ['hostile', 'failed_over'],
      ['plain', 'submitted'],
    ]);
    expect(routing.body.attempts[0]!.message).toContain('rate-limited');
    // The proxy's Retry-After (7 s) became a pause of the backend for every replica.
    const [state] = (await tb.broker.deps.ds.query(`SELECT paused_until FROM backend_states WHERE id = 'hostile'`)) as { paused_until: Date | null }[];
    const attempted = new Date((routing.body.attempts[0] as unknown as { started_at: string }).started_at).getTime();
    expect(state!.paused_until).not.toBeNull();
    expect(state!.paused_until!.getTime() - attempted).toBeGreaterThanOrEqual(5_000);
    proxy.setMode('pass');
  }, 150_000);

  it('the user never sees a 5xx: unknown backends and impossible combinations are 400s that say what to use', async () => {
    for (const [p, msg] of [
      [{ backend: 'nowhere' }, /Unknown backend 'nowhere'. Use 'auto' or one of: 'hostile', 'plain'/],
      [{ build: 'hg18' }, /Build 'hg18' is not offered for panel 'hapmap-2'/],
      [{ refpanel: 'topmed-r3' }, /Unknown reference panel 'topmed-r3'/],
    ] as const) {
      const res = await submit(tb.url, token, { files: [chr20], params: { ...params, ...p } });
      const body = (await res.json()) as { msg: string; status_code: number };
      expect({ status: res.status, code: body.status_code }).toEqual({ status: 400, code: 400 });
      expect(body.msg).toMatch(msg);
    }
  });
});
