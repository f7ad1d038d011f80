/**
 * Run events: what the trigger costs a run update, and how long an event takes from the UPDATE
 * to SSE clients of another broker process on the same database (LISTEN fan-out), with 1 and
 * with many streams open. Two broker children: A (embedded PostgreSQL, worker) and B (API only,
 * on A's database, trusting A's dev identity provider).
 */
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ownerKey } from '../src/auth/principal';
import { SseParser } from '../src/notify/test-support';
import { devToken, jwtClaims, startBrokerChild, type BrokerChild } from './lib/broker';
import { percentile } from './lib/load';
import { sleep } from './lib/proc';

export interface LatencyFigures {
  streams: number;
  events: number;
  delivered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface EventsResult {
  updates: number;
  trigger: { withMsPerUpdate: number; withoutMsPerUpdate: number; ratio: number };
  sameProcess: LatencyFigures;
  otherProcess: LatencyFigures[];
}

const num = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};

interface Stream {
  /** progress value -> time it arrived */
  arrivals: Map<number, number>;
  close(): void;
}

function openStream(url: string, token: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const arrivals = new Map<number, number>();
    const parser = new SseParser();
    const req = request(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /api/v1/events answered ${res.statusCode}`));
      res.setEncoding('utf8');
      let opened = false;
      res.on('data', (text: string) => {
        const now = performance.now();
        parser.feed(text, (m) => {
          if (m.event !== 'run.progress') return;
          const e = JSON.parse(m.data) as { progress: number };
          if (!arrivals.has(e.progress)) arrivals.set(e.progress, now);
        });
        if (!opened && parser.comments.includes('connected')) {
          opened = true;
          resolve({ arrivals, close: () => req.destroy() });
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => reject(e));
    req.end();
  });
}

async function latency(c: pg.Client, runId: string, url: string, token: string, streams: number, events: number): Promise<LatencyFigures> {
  const open: Stream[] = [];
  for (let i = 0; i < streams; i++) open.push(await openStream(url, token));
  await c.query(`UPDATE runs SET progress = NULL WHERE id = $1`, [runId]);
  await sleep(300);
  const sent = new Map<number, number>();
  for (let i = 1; i <= events; i++) {
    sent.set(i, performance.now());
    await c.query(`UPDATE runs SET progress = $2 WHERE id = $1`, [runId, i]);
    await sleep(10);
  }
  const until = Date.now() + 10_000;
  const got = (s: Stream) => [...s.arrivals.keys()].filter((p) => sent.has(p)).length;
  while (Date.now() < until && open.some((s) => got(s) < events)) await sleep(50);
  const lat: number[] = [];
  for (const s of open) for (const [p, t] of s.arrivals) if (sent.has(p)) lat.push(t - sent.get(p)!);
  for (const s of open) s.close();
  lat.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { streams, events, delivered: lat.length, p50Ms: r(percentile(lat, 50)), p99Ms: r(percentile(lat, 99)), maxMs: r(lat.at(-1) ?? NaN) };
}

async function updateRate(c: pg.Client, runId: string, n: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) await c.query(`UPDATE runs SET progress = $2 WHERE id = $1`, [runId, i % 2]);
  return (performance.now() - started) / n;
}

export async function benchEvents(log: (s: string) => void): Promise<EventsResult> {
  const updates = num('BENCH_EVENT_UPDATES', 5000);
  const many = num('BENCH_EVENT_STREAMS', 100);
  let a: BrokerChild | null = null;
  let b: BrokerChild | null = null;
  let c: pg.Client | null = null;
  try {
    a = await startBrokerChild();
    const { url, databaseUrl, tokenEndpoint } = a.info;
    if (!databaseUrl || !tokenEndpoint) throw new Error('broker child gave no database URL or token endpoint');
    const token = await devToken(tokenEndpoint, 'demo-cli');
    const claims = jwtClaims(token);
    const issuer = String(claims.iss);
    b = await startBrokerChild({
      DATABASE_URL: databaseUrl,
      WORKER: 'false',
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: `${url}/ga4gh/wes/v1`,
      SSE_MAX_CLIENTS_PER_USER: String(many + 10),
    });
    const subject = String(claims.sub ?? claims.client_id);
    c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    const db = c;
    const runId = randomUUID();
    // Leased for a day: the run engine leaves it alone.
    await c.query(
      `INSERT INTO runs (id, owner_key, owner_issuer, owner_subject, state, request, params, requested_backend, backend_id, password_enc, lease_owner, lease_until)
       VALUES ($1, $2, $3, $4, 'RUNNING', '{}', '{}', 'auto', 'mis2-demo', 'v1.none.x.y.z', 'bench', now() + interval '1 day')`,
      [runId, ownerKey({ issuer, subject }), issuer, subject],
    );

    log(`  ${updates} single-statement progress updates, with and without the event trigger (alternating, 2 rounds)...`);
    const withT: number[] = [];
    const withoutT: number[] = [];
    for (let round = 0; round < 2; round++) {
      withT.push(await updateRate(db, runId, updates / 2));
      await db.query(`ALTER TABLE runs DISABLE TRIGGER runs_event_changed`);
      try {
        withoutT.push(await updateRate(db, runId, updates / 2));
      } finally {
        await db.query(`ALTER TABLE runs ENABLE TRIGGER runs_event_changed`);
      }
    }
    const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    const trigger = { withMsPerUpdate: r3(avg(withT)), withoutMsPerUpdate: r3(avg(withoutT)), ratio: Math.round((avg(withT) / avg(withoutT)) * 100) / 100 };
    log(`  update: ${trigger.withMsPerUpdate} ms with the trigger, ${trigger.withoutMsPerUpdate} ms without (${trigger.ratio}x)`);

    const events = num('BENCH_EVENT_COUNT', 200);
    log(`  ${events} events, UPDATE to SSE client...`);
    const sameProcess = await latency(db, runId, a.info.url, token, 1, events);
    log(`  same process, 1 stream: p50 ${sameProcess.p50Ms} ms, p99 ${sameProcess.p99Ms} ms`);
    const otherProcess: LatencyFigures[] = [];
    for (const streams of [1, many]) {
      const f = await latency(db, runId, b.info.url, token, streams, events);
      otherProcess.push(f);
      log(`  other process, ${streams} streams: p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, ${f.delivered}/${streams * events} delivered`);
    }
    return { updates, trigger, sameProcess, otherProcess };
  } finally {
    await c?.end().catch(() => {});
    await b?.stop();
    await a?.stop();
  }
}
