/**
 * The run engine's invariants (DESIGN.md), each against a real Cloudgene simulator whose
 * faults are switched on and off: a backend blip is not a failed run, limits queue instead of
 * failing, submission is idempotent across a crash, nothing stays orphaned after a restart.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCloudgeneAdapter } from '@ibroker/adapters/cloudgene/index';
import type { RunLog } from '@ibroker/api-spec/index';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { getJson, submit, terminal, waitForState } from '../testing/wes-client';

const demo = (chr: string) => join(import.meta.dirname, '../../../demo/data/hg19', `chr${chr}.vcf.gz`);
const params = { refpanel: 'hapmap-2', population: 'eur' };

let tb: TestBroker | undefined;
afterEach(async () => {
  await tb?.close();
  tb = undefined;
});

async function newRun(t: TestBroker, token: string, files = [demo('20')]): Promise<string> {
  const res = await submit(t.url, token, { files, params });
  expect(res.status).toBe(200);
  return ((await res.json()) as { run_id: string }).run_id;
}

async function row(t: TestBroker, runId: string): Promise<{ remote_id: string | null; state: string; backend_id: string }> {
  return (await t.broker.deps.ds.query('SELECT remote_id, state, backend_id FROM runs WHERE id = $1', [runId]))[0];
}

async function until<T>(fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('run engine invariants', () => {
  it('a backend that cannot be reached is not a failed run: state kept, backend unhealthy, then COMPLETE', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], timing: { imputation: 6_000 } });
    const token = await tb.token();
    const runId = await newRun(tb, token);
    await waitForState(tb.url, token, runId, (l) => l.state === 'RUNNING');
    tb.sims.mis2!.setFaults({ dropRate: 1 });
    const unhealthy = await until(async () => {
      const s = await tb!.broker.deps.registry.state('mis2');
      return !s.healthy && s;
    });
    expect(unhealthy.lastError).toBeTruthy();
    const during = await getJson<RunLog>(`${tb.url}/ga4gh/wes/v1/runs/${runId}`, token);
    expect(during.body.state).toBe('RUNNING');
    tb.sims.mis2!.setFaults({ dropRate: 0, errorRate: 0 });
    const done = await waitForState(tb.url, token, runId, terminal);
    expect(done.state).toBe('COMPLETE');
    expect((await tb.broker.deps.registry.state('mis2')).healthy).toBe(true);
  });

  it('the broker queues beyond its per-backend limit instead of failing', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2', maxConcurrentJobs: 1 }], timing: { imputation: 800 } });
    const token = await tb.token();
    const ids = [await newRun(tb, token), await newRun(tb, token), await newRun(tb, token)];
    let maxActive = 0;
    const watch = setInterval(() => {
      void tb!.broker.deps.registry.activeRuns('mis2').then((n) => (maxActive = Math.max(maxActive, n)));
    }, 50);
    try {
      const waiting = await until(async () => {
        const log = (await getJson<RunLog>(`${tb!.url}/ga4gh/wes/v1/runs/${ids[2]}`, token)).body;
        return log.run_log?.system_logs?.some((l) => l.includes('Waiting for a free job slot')) && log;
      });
      expect(waiting.state).toBe('QUEUED');
      for (const id of ids) expect((await waitForState(tb.url, token, id, terminal)).state).toBe('COMPLETE');
    } finally {
      clearInterval(watch);
    }
    expect(maxActive).toBe(1);
  });

  it("Cloudgene's own per-user limit (HTTP 400) makes the run wait, never fail", async () => {
    tb = await startTestBroker({
      profiles: [{ id: 'mis2', profile: 'mis2', maxRunningJobsPerUser: 1, maxConcurrentJobs: 3 }],
      // Long enough that the second run is submitted while the first still holds Cloudgene's slot.
      timing: { imputation: 5_000 },
    });
    const token = await tb.token();
    // The second run only once the first is running at Cloudgene: two submissions close together
    // both land before either job runs (the limit counts running jobs), and the 400 never comes.
    const first = await newRun(tb, token);
    await waitForState(tb.url, token, first, (l) => l.state === 'RUNNING' || terminal(l));
    const ids = [first, await newRun(tb, token)];
    const logs = await Promise.all(ids.map((id) => waitForState(tb!.url, token, id, terminal)));
    expect(logs.map((l) => l.state)).toEqual(['COMPLETE', 'COMPLETE']);
    const all = logs.flatMap((l) => l.run_log?.system_logs ?? []).join('\n');
    expect(all).toContain('Only 1 jobs per user can be executed simultaneously');
  });

  it('a submission that reached the backend before a crash is found again, never sent twice', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], env: { WORKER: 'false' } });
    const token = await tb.token();
    const runId = await newRun(tb, token);
    // What a worker that crashed right after submitting left behind: the intent, and a job
    // on the backend named after the run, but no remote id recorded.
    const run = await tb.broker.deps.runs.getOwned(runId, (await tb.broker.deps.ds.query('SELECT owner_key FROM runs WHERE id=$1', [runId]))[0].owner_key);
    const inputs = await tb.broker.deps.runs.inputs(runId);
    const backend = tb.broker.deps.registry.get('mis2')!;
    const remoteId = await backend.adapter.submit({
      runId,
      params: run.params,
      files: inputs.map((f) => ({ name: f.name, path: tb!.broker.deps.blobs.path(f.blobKey!), size: f.size })),
      password: tb.broker.deps.runs.resultPassword(run),
    });
    await tb.broker.deps.ds.query('UPDATE runs SET submit_intent_at = now() WHERE id = $1', [runId]);

    // Same database and simulators, now with a worker.
    const restarted = await startTestBrokerWithWorker(tb);
    const t2 = await restarted.token();
    const done = await waitForState(restarted.url, t2, runId, terminal);
    expect(done.state).toBe('COMPLETE');
    expect((await row(restarted, runId)).remote_id).toBe(remoteId);
    const named = (await backend.adapter.findByRunId(runId)) === remoteId;
    expect(named).toBe(true);
    const jobs = await listJobNames(restarted, 'mis2');
    expect(jobs.filter((n) => n === runId)).toHaveLength(1);
  });

  it('a restart picks every unfinished run up again, and the sweeper re-wakes a run whose queue job was lost', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], timing: { imputation: 1_500 } });
    let token = await tb.token();
    const a = await newRun(tb, token);
    const b = await newRun(tb, token);
    await waitForState(tb.url, token, a, (l) => l.state === 'RUNNING');
    await tb.restart();
    token = await tb.token();
    // Lose b's queue job on purpose: its token now matches no job.
    await tb.broker.deps.ds.query(`UPDATE runs SET wake_token = 'lost', next_wake_at = now() - interval '1 hour' WHERE id = $1`, [b]);
    expect((await waitForState(tb.url, token, a, terminal)).state).toBe('COMPLETE');
    expect((await waitForState(tb.url, token, b, terminal)).state).toBe('COMPLETE');
  });

  it('a job Cloudgene lost in its own restart (state -1) is restarted, not failed', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], timing: { imputation: 6_000 } });
    const token = await tb.token();
    const runId = await newRun(tb, token);
    await waitForState(tb.url, token, runId, (l) => l.state === 'RUNNING');
    expect(tb.sims.mis2!.killRunningJobs().length).toBe(1);
    const done = await waitForState(tb.url, token, runId, terminal);
    expect(done.state).toBe('COMPLETE');
    expect(done.run_log?.system_logs?.join(' ')).toContain('the job was resumed');
  });

  it('results retired before they came home end EXECUTOR_ERROR with a message that says so', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }] });
    const token = await tb.token();
    const runId = await newRun(tb, token);
    const remoteId = await until(async () => (await row(tb!, runId)).remote_id ?? undefined);
    // The broker cannot reach the server while the job finishes and is retired.
    tb.sims.mis2!.setFaults({ dropRate: 1 });
    await until(async () => (tb!.sims.mis2!.getJob(remoteId)?.state ?? 0) >= 4 || undefined);
    await tb.sims.mis2!.retire(remoteId);
    tb.sims.mis2!.setFaults({ dropRate: 0 });
    const done = await waitForState(tb.url, token, runId, terminal);
    expect(done.state).toBe('EXECUTOR_ERROR');
    expect(done.run_log?.system_logs?.join(' ')).toContain('retired or deleted the job before its results came home');
  });

  it('maintenance (503) delays the submission until the service is back', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }] });
    const token = await tb.token();
    tb.sims.mis2!.setMaintenance(true);
    const runId = await newRun(tb, token);
    const waiting = await until(async () => {
      const log = (await getJson<RunLog>(`${tb!.url}/ga4gh/wes/v1/runs/${runId}`, token)).body;
      return log.run_log?.system_logs?.some((l) => l.includes('is not taking jobs right now')) && log;
    });
    expect(waiting.state).toBe('QUEUED');
    tb.sims.mis2!.setMaintenance(false);
    expect((await waitForState(tb.url, token, runId, terminal)).state).toBe('COMPLETE');
  });
});

/** A second broker on the same database and simulators as `t`, with its worker running. */
async function startTestBrokerWithWorker(t: TestBroker): Promise<TestBroker> {
  await t.restartWith({ WORKER: 'true' });
  return t;
}

async function listJobNames(t: TestBroker, backendId: string): Promise<string[]> {
  const b = t.broker.deps.registry.get(backendId)!;
  const sim = t.sims[backendId]!;
  const url = b.config.url;
  const token = await sim.createApiToken('broker');
  const res = await fetch(`${url}/api/v2/jobs`, { headers: { 'X-Auth-Token': token } });
  const page = (await res.json()) as { data: { name: string }[] };
  // The adapter's token was superseded by the one above: rebuild it so later calls still work.
  b.adapter = createCloudgeneAdapter({ baseUrl: url, token });
  return page.data.map((j) => j.name);
}
