/**
 * The federation under load, the broker in its own process (CPU and memory read from /proc),
 * the four simulators of the demo federation in this one (two Cloudgene 3 servers, a GA4GH WES
 * node, a DNAstack Workbench; both Cloudgene ones with the MIS 2 panels, so one panel is offered
 * by all four and `auto` spreads the runs over them).
 *
 * - `federation`: BENCH_FED_RUNS runs (default 1000; the figure is 5000) created through
 *   POST /api/v1/batches (500 a request, one uploaded cohort named by drs:// URI), then followed
 *   for BENCH_FED_WINDOW_S: backend calls per active run per minute (the broker's own call
 *   metrics), broker CPU (% of one core) and RSS against the same broker idle, and the delay
 *   between a backend starting a job and the broker's WES state saying RUNNING (the run's start
 *   time as the backend reports it vs the `run_events` row), against the poll interval.
 * - `failover`: BENCH_FAILOVER_RUNS runs (default 60) on fast simulators, once undisturbed (the
 *   baseline) and once with the DNAstack simulator killed when a third have finished: the share
 *   that still completes, and the time to finish against the baseline.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCloudgeneSimulator } from '@ibroker/adapters/cloudgene/simulator/index';
import { createDnastackSimulator, DEFAULT_WORKFLOW } from '@ibroker/adapters/dnastack/simulator/index';
import { createWesSimulator, DEFAULT_PANELS, STANDARD_WORKFLOW } from '@ibroker/adapters/wes/simulator/index';
import type { BackendConfig } from '../src/config';
import { devToken, startBrokerChild, type BrokerChild } from './lib/broker';
import { percentile } from './lib/load';
import { ROOT, cpuMs, removeDir, sampleRss, sleep, tempDir } from './lib/proc';

const num = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
const r2 = (x: number) => Math.round(x * 100) / 100;
const COHORT = join(ROOT, 'demo/data/hg19/chr20.vcf.gz');
const PANELS = DEFAULT_PANELS.map((p) => ({ id: p.id, label: p.label, build: p.build, populations: [...p.populations] }));
const PARAMS = { refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19' };

interface Sims {
  backends: BackendConfig[];
  kill(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Step length in ms for every simulated pipeline step. */
async function startSims(dir: string, stepMs: number, slots: number, pollMs: number): Promise<Sims> {
  const closers = new Map<string, () => Promise<void>>();
  const backends: BackendConfig[] = [];
  const common = { maxConcurrentJobs: slots, pollIntervalMs: pollMs, maxPollIntervalMs: Math.max(pollMs * 12, 60_000), retentionDays: 7, demo: true } as const;
  for (const id of ['mis2-demo', 'mis2-b-demo']) {
    const sim = createCloudgeneSimulator({
      profile: 'mis2',
      workDir: join(dir, id),
      users: [{ username: 'broker', password: 'pw' }],
      maxRunningJobsPerUser: 10_000,
      serverConcurrency: 8,
      timing: { queue: stepMs, validation: stepMs, qc: stepMs, phasing: stepMs, imputation: stepMs, compression: stepMs, export: stepMs },
    });
    const url = await sim.start(0, '127.0.0.1');
    closers.set(id, () => sim.close());
    backends.push({ ...common, id, kind: 'cloudgene', name: `${id} (simulator)`, url, token: await sim.createApiToken('broker'), appId: 'imputationserver2' });
  }
  const wesTiming = { queue: stepMs, initialize: stepMs, validation: stepMs, qc: stepMs, imputation: stepMs, export: stepMs, cancel: stepMs };
  const node = createWesSimulator({ flavor: 'standard', workDir: join(dir, 'wes'), tokens: { 'node-token': 'broker' }, timing: wesTiming, workflows: [STANDARD_WORKFLOW] });
  const nodeUrl = `${await node.start(0, '127.0.0.1')}/ga4gh/wes/v1`;
  closers.set('wes-demo', () => node.close());
  backends.push({
    ...common,
    id: 'wes-demo',
    kind: 'wes',
    name: 'WES node (simulator)',
    url: nodeUrl,
    token: 'node-token',
    flavor: 'standard',
    workflowUrl: STANDARD_WORKFLOW,
    workflowType: 'NFL',
    workflowTypeVersion: 'DSL2',
    inputMode: 'https',
    panels: PANELS,
  });
  const client = { clientId: 'broker-client', clientSecret: 'broker-client-secret', namespace: 'ns-bench', email: 'broker@localhost' };
  const workbench = createDnastackSimulator({ workDir: join(dir, 'dnastack'), clients: [client], timing: { ...wesTiming, preprocess: stepMs } });
  const workbenchUrl = await workbench.start(0, '127.0.0.1');
  closers.set('dnastack-demo', () => workbench.close());
  backends.push({
    ...common,
    id: 'dnastack-demo',
    kind: 'dnastack',
    name: 'DNAstack Workbench (simulator)',
    url: workbenchUrl,
    token: client.clientSecret,
    clientId: client.clientId,
    workflowId: DEFAULT_WORKFLOW.id,
    workflowVersionId: DEFAULT_WORKFLOW.versionId,
    panels: PANELS,
  });
  return {
    backends,
    async kill(id) {
      const close = closers.get(id);
      closers.delete(id);
      await close?.();
    },
    async close() {
      await Promise.all([...closers.values()].map((c) => c().catch(() => undefined)));
    },
  };
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as T;
}

/** Uploads the cohort once and creates `n` runs by batches of 500; returns their ids. */
async function createRuns(url: string, token: string, n: number): Promise<string[]> {
  const { readFileSync } = await import('node:fs');
  const up = await json<{ drs_uri: string }>(
    await fetch(`${url}/api/v1/uploads?name=chr20.vcf.gz`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(readFileSync(COHORT)),
    }),
  );
  const ids: string[] = [];
  for (let done = 0; done < n; done += 500) {
    const runs = Array.from({ length: Math.min(500, n - done) }, () => ({ workflow_params: { files: [up.drs_uri], ...PARAMS } }));
    const res = await json<{ run_ids: string[] }>(
      await fetch(`${url}/api/v1/batches`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `bench ${done}`, runs }),
      }),
    );
    ids.push(...res.run_ids);
  }
  return ids;
}

/** Total backend calls so far, from the broker's own Prometheus metrics. */
async function backendCalls(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('broker_backend_call_duration_seconds_count')) n += Number(line.split(' ').pop());
  return n;
}

async function startBroker(backends: BackendConfig[], dir: string, env: Record<string, string> = {}): Promise<{ broker: BrokerChild; token: string }> {
  const file = join(dir, 'backends.json');
  writeFileSync(file, JSON.stringify(backends));
  const broker = await startBrokerChild({ BENCH_BACKENDS: file, HEALTH_CHECK_INTERVAL: '5s', ...env });
  return { broker, token: await devToken(broker.info.tokenEndpoint!, 'demo-cli') };
}

async function sql<T>(databaseUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

export interface FederationResult {
  runs: number;
  backends: Record<string, number>;
  windowS: number;
  pollIntervalMs: number;
  activeRuns: number;
  submittedRuns: number;
  callsPerRunPerMinute: number;
  callsPerSubmittedRunPerMinute: number;
  cpu: { idlePctOfCore: number; followingPctOfCore: number; ratio: number };
  rssMb: { idle: number; following: number; ratio: number };
  stateDelay: { samples: number; p50Ms: number; p95Ms: number; p50OverPollInterval: number };
  createSeconds: number;
  lateWakeups: number;
}

export async function benchFederation(log: (s: string) => void): Promise<FederationResult> {
  const runs = num('BENCH_FED_RUNS', 2000);
  const windowS = num('BENCH_FED_WINDOW_S', 60);
  const pollMs = num('BENCH_FED_POLL_MS', 5_000);
  const stepMs = num('BENCH_FED_STEP_MS', 20_000);
  const slots = Math.min(100, num('BENCH_FED_SLOTS', 50));
  const dir = tempDir('federation');
  const sims = await startSims(dir, stepMs, slots, pollMs);
  let broker: BrokerChild | null = null;
  try {
    const started = await startBroker(sims.backends, dir);
    broker = started.broker;
    const { url, pid, databaseUrl } = broker.info;
    // Idle baseline: the broker with its four backends and no runs.
    await sleep(5_000);
    const idleSeconds = Math.min(20, windowS);
    const idleCpu0 = cpuMs(pid)!;
    const idleMem = sampleRss(pid, 500);
    await sleep(idleSeconds * 1000);
    const idleCpu = (cpuMs(pid)! - idleCpu0) / (idleSeconds * 10);
    const idleRss = Math.max(...idleMem.stop().map((s) => s.rssKb)) / 1024;
    log(`  idle: ${r2(idleCpu)} % of a core, ${r2(idleRss)} MB`);

    const t0 = performance.now();
    await createRuns(url, started.token, runs);
    const createSeconds = r2((performance.now() - t0) / 1000);
    log(`  ${runs} runs created in ${createSeconds} s (batches of 500)`);
    // Let the slots fill before measuring.
    await sleep(Math.min(30_000, stepMs));
    const calls0 = await backendCalls(url);
    const cpu0 = cpuMs(pid)!;
    const mem = sampleRss(pid, 500);
    const w0 = performance.now();
    await sleep(windowS * 1000);
    const seconds = (performance.now() - w0) / 1000;
    const calls = (await backendCalls(url)) - calls0;
    const cpu = (cpuMs(pid)! - cpu0) / (seconds * 10);
    const rss = Math.max(...mem.stop().map((s) => s.rssKb)) / 1024;
    const counts = await sql<{ backend_id: string; active: number; submitted: number }>(
      databaseUrl!,
      `SELECT backend_id, count(*) FILTER (WHERE state NOT IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED'))::int AS active,
              count(*) FILTER (WHERE remote_id IS NOT NULL AND state NOT IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED'))::int AS submitted
         FROM runs GROUP BY backend_id`,
    );
    // Wake-ups more than 5 s late: how far the worker is behind (0 when it keeps up).
    const [late] = await sql<{ n: number }>(
      databaseUrl!,
      `SELECT count(*)::int AS n FROM runs WHERE state NOT IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED')
          AND next_wake_at < now() - interval '5 seconds' AND lease_owner IS NULL`,
    );
    const active = counts.reduce((a, c) => a + c.active, 0);
    const submitted = counts.reduce((a, c) => a + c.submitted, 0);
    const delays = (
      await sql<{ ms: number }>(
        databaseUrl!,
        `SELECT EXTRACT(EPOCH FROM (e.at - r.start_time)) * 1000 AS ms
           FROM runs r JOIN LATERAL (SELECT min(at) AS at FROM run_events WHERE run_id = r.id AND state = 'RUNNING') e ON true
          WHERE r.start_time IS NOT NULL AND e.at IS NOT NULL`,
      )
    )
      .map((d) => Number(d.ms))
      .filter((d) => d >= 0)
      .sort((a, b) => a - b);
    const result: FederationResult = {
      runs,
      backends: Object.fromEntries(counts.map((c) => [c.backend_id, c.active])),
      windowS: r2(seconds),
      pollIntervalMs: pollMs,
      activeRuns: active,
      submittedRuns: submitted,
      callsPerRunPerMinute: r2(calls / Math.max(1, active) / (seconds / 60)),
      callsPerSubmittedRunPerMinute: r2(calls / Math.max(1, submitted) / (seconds / 60)),
      cpu: { idlePctOfCore: r2(idleCpu), followingPctOfCore: r2(cpu), ratio: r2(cpu / Math.max(0.01, idleCpu)) },
      rssMb: { idle: r2(idleRss), following: r2(rss), ratio: r2(rss / idleRss) },
      stateDelay: {
        samples: delays.length,
        p50Ms: r2(percentile(delays, 50)),
        p95Ms: r2(percentile(delays, 95)),
        p50OverPollInterval: r2(percentile(delays, 50) / pollMs),
      },
      createSeconds,
      lateWakeups: late!.n,
    };
    log(`  ${active} active runs (${submitted} on backends) over ${JSON.stringify(result.backends)}; ${late!.n} wake-ups more than 5 s late`);
    log(`  ${calls} backend calls in ${r2(seconds)} s: ${result.callsPerRunPerMinute} per active run per minute, ${result.callsPerSubmittedRunPerMinute} per submitted run`);
    log(`  broker CPU ${result.cpu.followingPctOfCore} % of a core (x${result.cpu.ratio} idle), RSS ${result.rssMb.following} MB (x${result.rssMb.ratio} idle)`);
    log(`  backend RUNNING -> broker RUNNING: p50 ${result.stateDelay.p50Ms} ms, p95 ${result.stateDelay.p95Ms} ms (${delays.length} runs; poll interval ${pollMs} ms)`);
    return result;
  } finally {
    await broker?.stop();
    await sims.close();
    removeDir(dir);
  }
}

export interface FailoverResult {
  runs: number;
  killed: string;
  baseline: { completeShare: number; seconds: number };
  withKill: { completeShare: number; seconds: number; failedOver: number; waitingOnKilled: number };
  completeShareRatio: number;
  timeRatio: number;
}

async function runToEnd(
  url: string,
  token: string,
  databaseUrl: string,
  n: number,
  timeoutS: number,
  onProgress?: (done: number) => Promise<void>,
  /** Runs submitted to this (dead) backend wait for it: stop when only they are left. */
  deadBackend?: () => string | null,
): Promise<{ complete: number; seconds: number; ids: string[] }> {
  const t0 = performance.now();
  const ids = await createRuns(url, token, n);
  const until = Date.now() + timeoutS * 1000;
  let complete = 0;
  let terminal = 0;
  while (Date.now() < until) {
    const [row] = await sql<{ complete: number; terminal: number; stranded: number }>(
      databaseUrl,
      `SELECT count(*) FILTER (WHERE state = 'COMPLETE')::int AS complete,
              count(*) FILTER (WHERE state IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED'))::int AS terminal,
              count(*) FILTER (WHERE backend_id = $2 AND submit_intent_at IS NOT NULL
                                 AND state NOT IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED'))::int AS stranded
         FROM runs WHERE id = ANY($1::uuid[])`,
      [ids, deadBackend?.() ?? ''],
    );
    complete = row!.complete;
    terminal = row!.terminal;
    await onProgress?.(terminal);
    if (terminal + row!.stranded === n) break;
    await sleep(1_000);
  }
  return { complete, seconds: (performance.now() - t0) / 1000, ids };
}

export async function benchFailover(log: (s: string) => void): Promise<FailoverResult> {
  const runs = num('BENCH_FAILOVER_RUNS', 60);
  const stepMs = num('BENCH_FAILOVER_STEP_MS', 300);
  const slots = num('BENCH_FAILOVER_SLOTS', 4);
  const killed = 'dnastack-demo';
  const dir = tempDir('failover');
  let broker: BrokerChild | null = null;
  let sims = await startSims(join(dir, 'a'), stepMs, slots, 1_000);
  try {
    let started = await startBroker(sims.backends, join(dir, 'a'));
    broker = started.broker;
    const base = await runToEnd(broker.info.url, started.token, broker.info.databaseUrl!, runs, 900);
    log(`  baseline: ${base.complete}/${runs} COMPLETE in ${r2(base.seconds)} s`);
    await broker.stop();
    broker = null;
    await sims.close();

    sims = await startSims(join(dir, 'b'), stepMs, slots, 1_000);
    started = await startBroker(sims.backends, join(dir, 'b'));
    broker = started.broker;
    let dead = false;
    const timeout = Math.max(120, base.seconds * 4);
    const hit = await runToEnd(broker.info.url, started.token, broker.info.databaseUrl!, runs, timeout, async (done) => {
      if (!dead && done >= runs / 3) {
        dead = true;
        await sims.kill(killed);
        log(`  killed ${killed} after ${done} runs finished`);
      }
    }, () => (dead ? killed : null));
    const [moved] = await sql<{ failed_over: number; waiting: number }>(
      broker.info.databaseUrl!,
      `SELECT count(*) FILTER (WHERE attempts @> '[{"outcome":"failed_over"}]')::int AS failed_over,
              count(*) FILTER (WHERE backend_id = $2 AND state NOT IN ('COMPLETE','EXECUTOR_ERROR','SYSTEM_ERROR','CANCELED','PREEMPTED'))::int AS waiting
         FROM runs WHERE id = ANY($1::uuid[])`,
      [hit.ids, killed],
    );
    const result: FailoverResult = {
      runs,
      killed,
      baseline: { completeShare: r2(base.complete / runs), seconds: r2(base.seconds) },
      withKill: { completeShare: r2(hit.complete / runs), seconds: r2(hit.seconds), failedOver: moved!.failed_over, waitingOnKilled: moved!.waiting },
      completeShareRatio: r2(hit.complete / Math.max(1, base.complete)),
      timeRatio: r2(hit.seconds / base.seconds),
    };
    log(
      `  with ${killed} killed: ${hit.complete}/${runs} COMPLETE in ${r2(hit.seconds)} s (x${result.timeRatio} the baseline time); ` +
        `${moved!.failed_over} runs failed over, ${moved!.waiting} submitted there before the kill wait for it to return`,
    );
    return result;
  } finally {
    await broker?.stop();
    await sims.close();
    removeDir(dir);
  }
}
