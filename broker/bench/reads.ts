/**
 * Reads under load: GET /runs/{id} and GET /runs?page_size=100 with 100,000 runs in the
 * database, authenticated with a real dev-OIDC token, against a bare Hono app as baseline.
 */
import pg from 'pg';
import { ownerKey } from '../src/auth/principal';
import { devToken, jwtClaims, startBrokerChild } from './lib/broker';
import { runLoad, type LoadResult } from './lib/load';
import { cpuMs, spawnJsonChild, stopChild, ROOT } from './lib/proc';
import { join } from 'node:path';

/** A load result plus the server process's own CPU time per request (contention-independent). */
export type Measured = LoadResult & { serverCpuMsPerRequest: number | null };

export interface ReadsResult {
  runs: { owner: number; others: number; insertS: number };
  concurrency: number;
  durationS: number;
  baseline: Measured;
  getRun: Measured;
  listRuns: Measured;
  ratios: {
    getRun: { rps: number; p50: number; p99: number };
    listRuns: { rps: number; p50: number; p99: number };
  };
}

const num = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};

const REQUEST = {
  workflow_type: 'NFL',
  workflow_type_version: 'DSL2',
  workflow_url: 'https://github.com/genepi/imputationserver2',
  workflow_params: { refpanel: '1000g-phase3-deep', population: 'eur', build: 'hg19', files: ['chr20.vcf.gz'] },
  tags: { project: 'bench' },
};
const PARAMS = { refpanel: '1000g-phase3-deep', population: 'eur', build: 'hg19', phasing: 'eagle', mode: 'imputation', r2Filter: '0' };
const step = (id: string, name: string, minutes: number) => ({
  id,
  name,
  state: 'COMPLETE',
  startTime: '2025-01-01T10:00:00.000Z',
  endTime: `2025-01-01T10:${String(minutes).padStart(2, '0')}:00.000Z`,
  messages: [{ level: 'info', text: `${name} finished`, time: '2025-01-01T10:05:00.000Z' }],
});
const TASKS = [step('1', 'Input Validation', 1), step('2', 'Quality Control', 3), step('3', 'Phasing and Imputation', 40), step('4', 'Compression and Encryption', 45)];

async function insertRuns(databaseUrl: string, owner: { key: string; issuer: string; subject: string }, n: number, others: number) {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const sql = `
      INSERT INTO runs (id, owner_key, owner_issuer, owner_subject, state, request, params, tags,
        requested_backend, backend_id, remote_id, remote_state, submit_intent_at, submitted_at,
        start_time, end_time, tasks, system_logs, errors, progress, password_enc, outputs_fetched,
        created_at, updated_at)
      SELECT gen_random_uuid(), $1, $2, $3, 'COMPLETE', $4::jsonb, $5::jsonb,
        jsonb_build_object('project', 'bench', 'n', g::text),
        'auto', 'mis2-demo', 'job-' || g, 'success',
        now() - g * interval '1 minute', now() - g * interval '1 minute',
        now() - g * interval '1 minute', now() - g * interval '1 minute' + interval '45 minutes',
        $6::jsonb, '["routed to mis2-demo: panel available, least loaded"]'::jsonb, '[]'::jsonb, 100,
        'bench-not-a-real-sealed-password', true, now() - g * interval '1 minute', now()
      FROM generate_series(1, $7::int) AS g`;
    const base = [JSON.stringify(REQUEST), JSON.stringify(PARAMS), JSON.stringify(TASKS)];
    await c.query(sql, [owner.key, owner.issuer, owner.subject, ...base, n]);
    // Other owners, interleaved by seq with ours, so the owner index has to do its job.
    const perOther = Math.max(1, Math.floor(others / 5));
    for (let i = 0; i < 5; i++) {
      await c.query(sql, [`other-${i},${encodeURIComponent(owner.issuer)}`, owner.issuer, `other-${i}`, ...base, perOther]);
    }
    await c.query('ANALYZE runs');
    const ids = await c.query<{ id: string }>('SELECT id FROM runs WHERE owner_key = $1 ORDER BY random() LIMIT 2000', [owner.key]);
    const count = await c.query<{ n: string }>('SELECT count(*) AS n FROM runs');
    return { ids: ids.rows.map((r) => r.id), total: Number(count.rows[0]!.n), others: perOther * 5 };
  } finally {
    await c.end();
  }
}

export async function benchReads(log: (s: string) => void): Promise<ReadsResult> {
  const nRuns = num('BENCH_RUNS', 100_000);
  const nOthers = num('BENCH_OTHER_RUNS', 5_000);
  const concurrency = num('BENCH_CONCURRENCY', 16);
  const durationMs = num('BENCH_DURATION_S', 10) * 1000;
  const warmupMs = num('BENCH_WARMUP_S', 2) * 1000;
  const maxRequests = num('BENCH_MAX_REQUESTS', 2_000_000);

  const baselineChild = await spawnJsonChild<{ url: string; pid: number }>(join(ROOT, 'broker/bench/baseline-child.ts'), [], {});
  const broker = await startBrokerChild();
  try {
    const { info } = broker;
    if (!info.databaseUrl || !info.tokenEndpoint) throw new Error('broker child gave no database URL or token endpoint');
    const token = await devToken(info.tokenEndpoint);
    const claims = jwtClaims(token);
    const issuer = String(claims.iss);
    const subject = String(claims.sub ?? claims.client_id);
    const owner = { key: ownerKey({ issuer, subject }), issuer, subject };

    log(`  inserting ${nRuns} runs for ${subject} (+${nOthers} for other owners)...`);
    const t0 = performance.now();
    const { ids, total, others } = await insertRuns(info.databaseUrl, owner, nRuns, nOthers);
    const insertS = Math.round((performance.now() - t0) / 100) / 10;
    log(`  ${total} runs in the database (${insertS} s)`);

    const auth = { Authorization: `Bearer ${token}` };
    const wes = `${info.url}/ga4gh/wes/v1`;
    const phase = async (name: string, pid: number, url: string | ((i: number) => string), headers: Record<string, string>): Promise<Measured> => {
      await runLoad({ url, headers, concurrency, durationMs: warmupMs, maxRequests });
      const cpu0 = cpuMs(pid);
      const r = await runLoad({ url, headers, concurrency, durationMs, maxRequests });
      const cpu1 = cpuMs(pid);
      const perReq = cpu0 !== null && cpu1 !== null && r.requests ? Math.round(((cpu1 - cpu0) / r.requests) * 1000) / 1000 : null;
      log(`  ${name.padEnd(28)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  server CPU ${perReq} ms/req  errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}`);
      return { ...r, serverCpuMsPerRequest: perReq };
    };
    const baseline = await phase('baseline (bare Hono)', baselineChild.info.pid, `${baselineChild.info.url}/ga4gh/wes/v1/runs/x`, {});
    const getRun = await phase('GET /runs/{id}', info.pid, (i) => `${wes}/runs/${ids[i % ids.length]}`, auth);
    const listRuns = await phase('GET /runs?page_size=100', info.pid, `${wes}/runs?page_size=100`, auth);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const ratio = (r: Measured) => ({
      rps: r2(r.rps / baseline.rps),
      p50: r2(r.p50Ms / baseline.p50Ms),
      p99: r2(r.p99Ms / baseline.p99Ms),
    });
    return {
      runs: { owner: nRuns, others, insertS },
      concurrency,
      durationS: durationMs / 1000,
      baseline,
      getRun,
      listRuns,
      ratios: { getRun: ratio(getRun), listRuns: ratio(listRuns) },
    };
  } finally {
    await broker.stop();
    await stopChild(baselineChild.child);
  }
}
