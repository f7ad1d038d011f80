/**
 * `npm run bench [-- reads|upload|startup|auth|drs ...]`: runs the benchmarks, prints figures with
 * their ratios to a baseline measured in the same run, writes `.data/bench/results.json`.
 * Knobs (environment): BENCH_RUNS, BENCH_OTHER_RUNS, BENCH_CONCURRENCY, BENCH_DURATION_S,
 * BENCH_WARMUP_S, BENCH_UPLOAD_MB, BENCH_UPLOAD_LEVEL, BENCH_UPLOAD_SAMPLES, BENCH_AUTH_RUNS,
 * BENCH_AUTH_ROUNDS, BENCH_DRS_OBJECTS, BENCH_DRS_DOWNLOAD_MB, BENCH_EVENT_UPDATES, BENCH_EVENT_COUNT,
 * BENCH_EVENT_STREAMS, BENCH_FED_RUNS, BENCH_FED_WINDOW_S, BENCH_FED_POLL_MS, BENCH_FED_STEP_MS, BENCH_FED_SLOTS,
 * BENCH_FAILOVER_RUNS, BENCH_FAILOVER_STEP_MS, BENCH_FAILOVER_SLOTS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchAuth, type AuthResult } from './auth';
import { benchDrs, type DrsResult } from './drs';
import { benchEvents, type EventsResult } from './events';
import { benchFailover, benchFederation, type FailoverResult, type FederationResult } from './federation';
import { ROOT, cleanupAll, installSignalCleanup } from './lib/proc';
import { benchReads, type ReadsResult } from './reads';
import { benchStartup, type StartupResult } from './startup';
import { benchUpload, type UploadResult } from './upload';

const ALL = ['reads', 'upload', 'startup', 'auth', 'drs', 'events', 'federation', 'failover'] as const;
type Name = (typeof ALL)[number];

const args = process.argv.slice(2).filter((a) => a !== '--');
const unknown = args.filter((a) => !(ALL as readonly string[]).includes(a));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  process.exit(2);
}
const selected: Name[] = args.length ? (args as Name[]) : [...ALL];
const log = (s: string) => console.log(s);

interface Results {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memGb: number; node: string; platform: string; loadAvgAtStart: number[] };
  reads?: ReadsResult;
  upload?: UploadResult;
  startup?: StartupResult;
  auth?: AuthResult;
  drs?: DrsResult;
  events?: EventsResult;
  federation?: FederationResult;
  failover?: FailoverResult;
  failures: Record<string, string>;
}

const results: Results = {
  startedAt: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  },
  failures: {},
};

installSignalCleanup();
log(`machine: ${results.machine.cpus} cores (${results.machine.cpuModel}), ${results.machine.memGb} GB, Node ${results.machine.node}, load average ${results.machine.loadAvgAtStart.join(' ')}`);
try {
  for (const name of selected) {
    log(`\n== ${name}`);
    try {
      if (name === 'reads') results.reads = await benchReads(log);
      if (name === 'upload') results.upload = await benchUpload(log);
      if (name === 'startup') results.startup = await benchStartup(log);
      if (name === 'auth') results.auth = await benchAuth(log);
      if (name === 'drs') results.drs = await benchDrs(log);
      if (name === 'events') results.events = await benchEvents(log);
      if (name === 'federation') results.federation = await benchFederation(log);
      if (name === 'failover') results.failover = await benchFailover(log);
    } catch (e) {
      results.failures[name] = (e as Error).stack ?? String(e);
      console.error(`  ${name} FAILED: ${(e as Error).message}`);
      await cleanupAll();
    }
  }
} finally {
  await cleanupAll();
}

const rows: [string, string, string, string][] = [];
const r = results.reads;
if (r) {
  const line = (label: string, x: typeof r.getRun, ratio?: { rps: number; p50: number; p99: number }) =>
    rows.push([label, `${x.rps} req/s, p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, ${x.serverCpuMsPerRequest} ms CPU/req${x.errors ? `, ${x.errors} errors` : ''}`, ratio ? `${ratio.rps}x rps, ${ratio.p50}x p50, ${ratio.p99}x p99` : 'baseline', '']);
  line(`GET /runs/{id} (${r.runs.owner} runs, c=${r.concurrency})`, r.getRun, r.ratios.getRun);
  line(`GET /runs?page_size=100`, r.listRuns, r.ratios.listRuns);
  line('bare Hono fixed JSON', r.baseline);
}
const u = results.upload;
if (u) {
  rows.push([
    `POST /runs, ${(u.file.bytes / 1024 ** 2).toFixed(0)} MiB attachment`,
    `${u.upload.mbps} MiB/s (${u.upload.seconds} s, HTTP ${u.upload.status})`,
    `${u.ratio.throughputVsDiskCopy}x disk copy`,
    '',
  ]);
  rows.push([
    '  broker RSS during upload',
    `idle ${u.memory.idleRssMb} MB, peak ${u.memory.peakRssMb} MB (+${u.memory.growthMb} MB)`,
    u.memory.flat ? `flat (< ${u.memory.limitMb} MB)` : 'NOT flat',
    '',
  ]);
  rows.push(['disk copy of the same file', `${u.baseline.mbps} MiB/s (${u.baseline.copyS} s)`, 'baseline', '']);
}
const s = results.startup;
if (s) {
  rows.push(['start to ready, fresh DATA_DIR (initdb)', `${s.cold.readyMs} ms`, `${s.ratios.cold}x node spawn`, '']);
  rows.push(['start to ready, same DATA_DIR', `${s.warm.readyMs} ms`, `${s.ratios.warm}x node spawn`, '']);
  rows.push(['node -e "" spawn to exit', `${s.baseline.nodeSpawnMs} ms`, 'baseline', '']);
}
const a = results.auth;
if (a) {
  const fig = (x: typeof a.noAuth) => `${x.rps} req/s, p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, ${x.serverCpuMsPerRequest} ms CPU/req`;
  rows.push([`GET /runs/{id}, ${a.visas}-visa passport cached (c=${a.concurrency})`, fig(a.authenticated), `${a.ratio.rps}x rps, ${a.ratio.p50}x p50, ${a.ratio.p99}x p99, ${a.ratio.cpu}x CPU`, '']);
  rows.push(['  first request (passport not cached yet)', `${a.coldFirstRequestMs} ms`, '', '']);
  rows.push(['GET /runs/{id}, no authentication', fig(a.noAuth), 'baseline', '']);
}
const d = results.drs;
if (d) {
  const fig = (x: typeof d.baseline) => `${x.rps} req/s, p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, ${x.serverCpuMsPerRequest} ms CPU/req${x.errors ? `, ${x.errors} errors` : ''}`;
  rows.push([`DRS GET /objects/{id} (${d.objects} objects, c=${d.concurrency})`, fig(d.getObject), `${d.ratio.rps}x rps, ${d.ratio.p50}x p50, ${d.ratio.p99}x p99`, '']);
  rows.push(['bare Hono fixed JSON', fig(d.baseline), 'baseline', '']);
  const dl = d.download;
  rows.push([`DRS download, ${(dl.bytes / 1024 ** 3).toFixed(1)} GiB object`, `${dl.mbps} MiB/s (${dl.seconds} s, sha256 ${dl.sha256Ok ? 'ok' : 'MISMATCH'})`, `${dl.ratioVsBareRoute}x bare route, ${dl.ratioVsDiskRead}x disk read`, '']);
  rows.push(['  broker RSS during download', `idle ${dl.memory.idleRssMb} MB, peak ${dl.memory.peakRssMb} MB (+${dl.memory.growthMb} MB)`, dl.memory.flat ? `flat (< ${dl.memory.limitMb} MB)` : 'NOT flat', '']);
  rows.push(['same client, bare Hono route streaming the file', `${dl.bareRouteMbps} MiB/s`, 'baseline', '']);
  rows.push(['disk read of the same file', `${dl.diskReadMbps} MiB/s`, 'baseline', '']);
}
const ev = results.events;
if (ev) {
  rows.push([`run update with the event trigger (${ev.updates} updates)`, `${ev.trigger.withMsPerUpdate} ms`, `${ev.trigger.ratio}x`, '']);
  rows.push(['run update, trigger disabled', `${ev.trigger.withoutMsPerUpdate} ms`, 'baseline', '']);
  const lat = (f: typeof ev.sameProcess) => `p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms (${f.delivered}/${f.streams * f.events} delivered)`;
  rows.push([`UPDATE to SSE client, same process, 1 stream`, lat(ev.sameProcess), 'baseline', '']);
  for (const f of ev.otherProcess) rows.push([`UPDATE to SSE client, other process, ${f.streams} streams`, lat(f), `${Math.round((f.p50Ms / ev.sameProcess.p50Ms) * 100) / 100}x p50`, '']);
}
const fe = results.federation;
if (fe) {
  rows.push([`federation: ${fe.activeRuns} active runs (${fe.submittedRuns} on backends), 4 backends`, `${fe.callsPerRunPerMinute} backend calls/run/min (${fe.callsPerSubmittedRunPerMinute} per submitted run)`, '', '']);
  rows.push(['  broker CPU following them', `${fe.cpu.followingPctOfCore} % of a core`, `${fe.cpu.ratio}x idle`, '']);
  rows.push(['  broker RSS following them', `${fe.rssMb.following} MB`, `${fe.rssMb.ratio}x idle`, '']);
  rows.push(['  backend RUNNING to WES RUNNING', `p50 ${fe.stateDelay.p50Ms} ms, p95 ${fe.stateDelay.p95Ms} ms (${fe.stateDelay.samples} runs)`, `${fe.stateDelay.p50OverPollInterval}x poll interval`, '']);
  rows.push(['  the same broker idle (baseline)', `${fe.cpu.idlePctOfCore} % of a core, ${fe.rssMb.idle} MB`, 'baseline', '']);
}
const fo = results.failover;
if (fo) {
  rows.push([`failover: ${fo.runs} runs, ${fo.killed} killed mid-stream`, `${Math.round(fo.withKill.completeShare * 100)} % COMPLETE in ${fo.withKill.seconds} s (${fo.withKill.failedOver} failed over, ${fo.withKill.waitingOnKilled} wait on it)`, `${fo.completeShareRatio}x share, ${fo.timeRatio}x time`, '']);
  rows.push(['  no backend killed (baseline)', `${Math.round(fo.baseline.completeShare * 100)} % COMPLETE in ${fo.baseline.seconds} s`, 'baseline', '']);
}
if (rows.length) {
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  log(`\n${'benchmark'.padEnd(w0)} | ${'figure'.padEnd(w1)} | ratio`);
  log(`${'-'.repeat(w0)}-|-${'-'.repeat(w1)}-|------`);
  for (const row of rows) log(`${row[0].padEnd(w0)} | ${row[1].padEnd(w1)} | ${row[2]}`);
}

const dir = join(ROOT, '.data/bench');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
log(`\nresults: ${join(dir, 'results.json')}`);
if (Object.keys(results.failures).length) process.exit(1);
