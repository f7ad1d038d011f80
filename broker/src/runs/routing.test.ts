/**
 * Routing, failover and schedules against two real Cloudgene simulators offering the same panel:
 * a run whose backend cannot take it (maintenance, down) moves to the next candidate and records
 * each attempt; an explicit backend never moves; a scheduled run waits in QUEUED and starts after
 * its time even across a restart. The health monitor is off so the tests decide who is down.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunLog } from '@ibroker/api-spec/index';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { getJson, submit, terminal, waitForState } from '../testing/wes-client';

const chr20 = join(import.meta.dirname, '../../../demo/data/hg19/chr20.vcf.gz');
const params = { refpanel: 'hapmap-2', population: 'eur' };

interface Routing {
  requested_backend: string;
  backend: string;
  reasons: string[];
  attempts: { backend: string; started_at: string; outcome: string; message: string }[];
  not_before: string | null;
  batch_id: string | null;
}

let tb: TestBroker;
let token: string;

beforeAll(async () => {
  tb = await startTestBroker({
    profiles: [
      { id: 'a', profile: 'mis2' },
      { id: 'b', profile: 'mis2' },
    ],
    health: { autoStart: false },
  });
  token = await tb.token();
}, 120_000);
afterAll(async () => {
  await tb?.close();
});
afterEach(async () => {
  tb.sims.a!.setMaintenance(false);
  await tb.broker.deps.registry.recordSuccess('a', null);
  await tb.broker.deps.registry.recordSuccess('b', null);
});

async function newRun(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await submit(tb.url, token, { files: [chr20], params: { ...params, ...extra } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { run_id: string }).run_id;
}

const routing = async (runId: string, who = token) => getJson<Routing>(`${tb.url}/api/v1/runs/${runId}/routing`, who);

describe('failover', () => {
  it('moves a run refused for maintenance to the next candidate, records both attempts, and completes there', async () => {
    tb.sims.a!.setMaintenance(true);
    const runId = await newRun();
    const log = await waitForState(tb.url, token, runId, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    const { status, body } = await routing(runId);
    expect(status).toBe(200);
    expect(body.requested_backend).toBe('auto');
    expect(body.backend).toBe('b');
    expect(body.reasons[0]).toContain('Routed to a');
    expect(body.attempts.map((a) => [a.backend, a.outcome])).toEqual([
      ['a', 'failed_over'],
      ['b', 'submitted'],
    ]);
    expect(body.attempts[0]!.message).toMatch(/maintenance/i);
    expect(log.run_log?.system_logs?.join('\n')).toContain('Failed over from a to b');
  }, 120_000);

  it('an explicit backend never fails over: the run waits for it and completes there', async () => {
    tb.sims.a!.setMaintenance(true);
    const runId = await newRun({ backend: 'a' });
    await waitForState(tb.url, token, runId, (l) => (l.run_log?.system_logs ?? []).some((s) => s.includes('not taking jobs right now')));
    const waiting = await routing(runId);
    expect(waiting.body).toMatchObject({ requested_backend: 'a', backend: 'a', attempts: [] });
    expect(waiting.body.reasons[0]).toContain('no failover');
    tb.sims.a!.setMaintenance(false);
    const log = await waitForState(tb.url, token, runId, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    expect((await routing(runId)).body.attempts.map((a) => [a.backend, a.outcome])).toEqual([['a', 'submitted']]);
  }, 120_000);

  it('a run scheduled onto a backend that is down by its time goes to the next candidate without calling the first', async () => {
    const notBefore = new Date(Date.now() + 2_500).toISOString();
    const runId = await newRun({ not_before: notBefore });
    const queued = await getJson<RunLog>(`${tb.url}/ga4gh/wes/v1/runs/${runId}`, token);
    expect(queued.body.state).toBe('QUEUED');
    expect((await routing(runId)).body).toMatchObject({ backend: 'a', not_before: new Date(notBefore).toISOString(), attempts: [] });
    // Two failures in a row: unhealthy (what the monitor or a run call would record).
    await tb.broker.deps.registry.recordFailure('a', new Error('connect ECONNREFUSED'));
    await tb.broker.deps.registry.recordFailure('a', new Error('connect ECONNREFUSED'));
    const log = await waitForState(tb.url, token, runId, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    const { body } = await routing(runId);
    expect(body.attempts.map((a) => [a.backend, a.outcome])).toEqual([
      ['a', 'failed_over'],
      ['b', 'submitted'],
    ]);
    expect(body.attempts[0]!.message).toContain('unreachable');
    const [row] = (await tb.broker.deps.ds.query(`SELECT submitted_at FROM runs WHERE id = $1`, [runId])) as { submitted_at: Date }[];
    expect(row!.submitted_at.getTime()).toBeGreaterThanOrEqual(new Date(notBefore).getTime());
  }, 120_000);
});

describe('scheduled runs', () => {
  it('wait in QUEUED and start after their time even when the broker restarted in between', async () => {
    const notBefore = new Date(Date.now() + 4_000);
    const runId = await newRun({ not_before: notBefore.toISOString(), backend: 'b' });
    const before = await getJson<RunLog>(`${tb.url}/ga4gh/wes/v1/runs/${runId}`, token);
    expect(before.body.state).toBe('QUEUED');
    expect(before.body.run_log?.system_logs?.join('\n')).toContain(`waits in QUEUED until ${notBefore.toISOString()}`);
    await tb.restart();
    // The queue's delayed job may or may not survive; the sweeper finds the run by its wake-up time.
    const log = await waitForState(tb.url, token, runId, terminal, 90_000);
    expect(log.state).toBe('COMPLETE');
    const [row] = (await tb.broker.deps.ds.query(`SELECT submitted_at, submit_intent_at FROM runs WHERE id = $1`, [runId])) as { submitted_at: Date; submit_intent_at: Date }[];
    expect(row!.submit_intent_at.getTime()).toBeGreaterThanOrEqual(notBefore.getTime());
  }, 120_000);

  it('refuses a schedule more than 30 days ahead or not a date-time, storing nothing', async () => {
    const count = async () => ((await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM runs`)) as [{ n: number }])[0].n;
    const n = await count();
    for (const [value, msg] of [
      [new Date(Date.now() + 31 * 86_400_000).toISOString(), /more than 30 days ahead/],
      ['next tuesday', /ISO 8601 date-time with a time zone offset/],
      ['2026-06-01T10:00:00', /ISO 8601 date-time with a time zone offset/],
    ] as const) {
      const res = await submit(tb.url, token, { files: [chr20], params: { ...params, not_before: value } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { msg: string; status_code: number };
      expect(body.status_code).toBe(400);
      expect(body.msg).toMatch(msg);
    }
    expect(await count()).toBe(n);
  });
});

describe('load spreading', () => {
  it("spreads a batch's runs over the backends that offer the panel, counting the runs routed before them", async () => {
    const up = await fetch(`${tb.url}/api/v1/uploads?name=chr20.vcf.gz`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(readFileSync(chr20)),
    });
    const { drs_uri } = (await up.json()) as { drs_uri: string };
    const res = await fetch(`${tb.url}/api/v1/batches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ runs: Array.from({ length: 4 }, () => ({ workflow_params: { files: [drs_uri], ...params, mode: 'qc_only' } })) }),
    });
    expect(res.status).toBe(201);
    const { run_ids } = (await res.json()) as { run_ids: string[] };
    const rows = (await tb.broker.deps.ds.query(`SELECT backend_id, count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[]) GROUP BY backend_id ORDER BY backend_id`, [
      run_ids,
    ])) as { backend_id: string; n: number }[];
    expect(rows).toEqual([
      { backend_id: 'a', n: 2 },
      { backend_id: 'b', n: 2 },
    ]);
    for (const id of run_ids) await waitForState(tb.url, token, id, terminal, 90_000);
  }, 180_000);
});

describe('routing visibility', () => {
  it("another user's run routing is a 404, as the run itself", async () => {
    const runId = await newRun({ backend: 'b' });
    const other = await tb.token('demo-cli-2');
    expect((await fetch(`${tb.url}/api/v1/runs/${runId}/routing`, { headers: { Authorization: `Bearer ${other}` } })).status).toBe(404);
    expect((await fetch(`${tb.url}/api/v1/runs/not-a-uuid/routing`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404);
    await waitForState(tb.url, token, runId, terminal, 90_000);
  }, 120_000);
});
