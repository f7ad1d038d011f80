/**
 * DRS under load and a big download, against a broker in its own process:
 * - `GET /ga4gh/drs/v1/objects/{id}` (authenticated, policy decision, one row read) with 10,000
 *   objects in the database, against a bare Hono app answering a fixed JSON body (baseline);
 * - a 2 GiB object streamed through `GET /api/v1/objects/{id}/content`, its throughput as a ratio
 *   to reading the same file from disk, with the broker's RSS sampled every 100 ms.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { devToken, jwtClaims, startBrokerChild } from './lib/broker';
import { runLoad } from './lib/load';
import { cpuMs, ROOT, sampleRss, sleep, spawnJsonChild, stopChild, type MemSample } from './lib/proc';
import type { Measured } from './reads';

export interface DrsResult {
  objects: number;
  concurrency: number;
  durationS: number;
  baseline: Measured;
  getObject: Measured;
  ratio: { rps: number; p50: number; p99: number };
  download: {
    bytes: number;
    seconds: number;
    mbps: number;
    sha256Ok: boolean;
    diskReadMbps: number;
    ratioVsDiskRead: number;
    /** The same client (fetch + SHA-256) against a bare Hono route streaming the file. */
    bareRouteMbps: number;
    ratioVsBareRoute: number;
    memory: { idleRssMb: number; peakRssMb: number; growthMb: number; flat: boolean; limitMb: number };
  };
}

const MB = 1024 * 1024;
const num = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
const mb = (kb: number) => Math.round(kb / 102.4) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Writes `bytes` of random data as a blob of the broker's store; returns its key and checksums. */
async function writeBlob(blobRoot: string, bytes: number): Promise<{ key: string; sha256: string; md5: string }> {
  const id = randomUUID();
  const key = `${id.slice(0, 2)}/${id}`;
  mkdirSync(join(blobRoot, key.slice(0, 2)), { recursive: true });
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  // One random MiB repeated with a counter: cheap to make, still different on every MiB.
  const seed = randomBytes(MB);
  async function* chunks() {
    for (let written = 0, i = 0; written < bytes; written += MB, i++) {
      const chunk = Buffer.from(seed);
      chunk.writeUInt32BE(i, 0);
      const part = written + MB > bytes ? chunk.subarray(0, bytes - written) : chunk;
      sha.update(part);
      md5.update(part);
      yield part;
    }
  }
  await pipeline(chunks, createWriteStream(join(blobRoot, key)));
  return { key, sha256: sha.digest('hex'), md5: md5.digest('hex') };
}

export async function benchDrs(log: (s: string) => void): Promise<DrsResult> {
  const nObjects = num('BENCH_DRS_OBJECTS', 10_000);
  const concurrency = num('BENCH_CONCURRENCY', 16);
  const durationMs = num('BENCH_DURATION_S', 10) * 1000;
  const warmupMs = num('BENCH_WARMUP_S', 2) * 1000;
  const downloadBytes = num('BENCH_DRS_DOWNLOAD_MB', 2048) * MB;
  const limitMb = 300;

  const baselineChild = await spawnJsonChild<{ url: string; pid: number }>(join(ROOT, 'broker/bench/baseline-child.ts'), [], {});
  const broker = await startBrokerChild();
  try {
    const { info } = broker;
    if (!info.databaseUrl || !info.tokenEndpoint) throw new Error('broker child gave no database URL or token endpoint');
    const token = await devToken(info.tokenEndpoint);
    const claims = jwtClaims(token);
    const issuer = String(claims.iss);
    const subject = String(claims.sub ?? claims.client_id);

    log(`  writing a ${(downloadBytes / MB).toFixed(0)} MiB blob and ${nObjects} object rows...`);
    const big = await writeBlob(join(broker.dataDir, 'blobs'), downloadBytes);
    const db = new pg.Client({ connectionString: info.databaseUrl });
    await db.connect();
    let ids: string[];
    let bigId: string;
    try {
      const rows = await db.query<{ id: string }>(
        `INSERT INTO objects (id, run_id, role, name, size, sha256, md5, blob_key, mime_type, owner_issuer, owner_subject, datasets, created_at)
         SELECT gen_random_uuid(), NULL, 'input', 'chr' || (g % 22 + 1) || '.vcf.gz', $1, $2, $3, $4, 'application/gzip', $5, $6, '{}', now()
           FROM generate_series(1, $7::int) AS g
         RETURNING id`,
        [downloadBytes, big.sha256, big.md5, big.key, issuer, subject, nObjects],
      );
      ids = rows.rows.map((r) => r.id);
      bigId = ids[0]!;
      await db.query('ANALYZE objects');
    } finally {
      await db.end();
    }

    const auth = { Authorization: `Bearer ${token}` };
    const phase = async (name: string, pid: number, url: string | ((i: number) => string), headers: Record<string, string>): Promise<Measured> => {
      await runLoad({ url, headers, concurrency, durationMs: warmupMs, maxRequests: 2_000_000 });
      const cpu0 = cpuMs(pid);
      const r = await runLoad({ url, headers, concurrency, durationMs, maxRequests: 2_000_000 });
      const cpu1 = cpuMs(pid);
      const perReq = cpu0 !== null && cpu1 !== null && r.requests ? Math.round(((cpu1 - cpu0) / r.requests) * 1000) / 1000 : null;
      log(`  ${name.padEnd(30)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  server CPU ${perReq} ms/req  errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}`);
      return { ...r, serverCpuMsPerRequest: perReq };
    };
    const baseline = await phase('baseline (bare Hono)', baselineChild.info.pid, `${baselineChild.info.url}/ga4gh/drs/v1/objects/x`, {});
    const getObject = await phase('GET /objects/{id}', info.pid, (i) => `${info.url}/ga4gh/drs/v1/objects/${ids[i % ids.length]}`, auth);

    // Disk read of the same file (page cache warm from the write, as it is for the broker).
    const path = join(broker.dataDir, 'blobs', big.key);
    const d0 = performance.now();
    await pipeline(createReadStream(path, { highWaterMark: MB }), new Writable({ write: (_c, _e, done) => done() }));
    const diskS = (performance.now() - d0) / 1000;
    const diskMbps = downloadBytes / MB / diskS;
    log(`  baseline disk read: ${diskS.toFixed(2)} s, ${diskMbps.toFixed(0)} MiB/s`);

    /** Downloads a URL the way a client does (fetch, SHA-256 of every chunk); seconds and the digest. */
    const fetchAll = async (url: string, headers: Record<string, string>) => {
      const t = performance.now();
      const res = await fetch(url, { headers });
      if (res.status !== 200 || !res.body) throw new Error(`download answered HTTP ${res.status}`);
      const sha = createHash('sha256');
      let got = 0;
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += value.byteLength;
        sha.update(value);
      }
      return { seconds: (performance.now() - t) / 1000, ok: got === downloadBytes && sha.digest('hex') === big.sha256 };
    };
    // The same client against a bare Hono route streaming the file (HTTP, fetch and hashing without
    // the broker), alternating with the broker for BENCH_DRS_ROUNDS rounds so neither always goes
    // first; the best of each is reported (single downloads varied by 2x between runs).
    const rounds = num('BENCH_DRS_ROUNDS', 3);
    const bareUrl = `${baselineChild.info.url}/file?path=${encodeURIComponent(path)}`;
    const brokerUrl = `${info.url}/api/v1/objects/${bigId}/content`;
    await sleep(500);
    const sampler = sampleRss(info.pid, 100);
    await sleep(300);
    const idle = sampler.read()!;
    const bareTimes: number[] = [];
    const brokerTimes: number[] = [];
    let sha256Ok = true;
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 === 0 ? (['bare', 'broker'] as const) : (['broker', 'bare'] as const)) {
        const got = which === 'bare' ? await fetchAll(bareUrl, {}) : await fetchAll(brokerUrl, auth);
        sha256Ok &&= got.ok;
        (which === 'bare' ? bareTimes : brokerTimes).push(got.seconds);
        log(`  round ${r + 1}: ${which === 'bare' ? 'bare Hono file route' : 'broker'} ${(downloadBytes / MB / got.seconds).toFixed(0)} MiB/s`);
      }
    }
    await sleep(200);
    const samples: MemSample[] = sampler.stop();
    const peak = Math.max(...samples.map((s) => s.rssKb));
    const seconds = Math.min(...brokerTimes);
    const bareMbps = downloadBytes / MB / Math.min(...bareTimes);
    log(`  baseline bare Hono file route, same client, best of ${rounds}: ${bareMbps.toFixed(0)} MiB/s`);
    const mbps = downloadBytes / MB / seconds;
    const growthMb = mb(peak - idle.rssKb);
    const flat = mb(peak) < limitMb && growthMb < 100;
    log(`  download: ${seconds.toFixed(2)} s, ${mbps.toFixed(0)} MiB/s, sha256 ${sha256Ok ? 'ok' : 'MISMATCH'}; broker RSS idle ${mb(idle.rssKb)} MB, peak ${mb(peak)} MB (+${growthMb} MB)`);
    return {
      objects: nObjects,
      concurrency,
      durationS: durationMs / 1000,
      baseline,
      getObject,
      ratio: { rps: r2(getObject.rps / baseline.rps), p50: r2(getObject.p50Ms / baseline.p50Ms), p99: r2(getObject.p99Ms / baseline.p99Ms) },
      download: {
        bytes: downloadBytes,
        seconds: r2(seconds),
        mbps: Math.round(mbps),
        sha256Ok,
        diskReadMbps: Math.round(diskMbps),
        ratioVsDiskRead: Math.round((mbps / diskMbps) * 1000) / 1000,
        bareRouteMbps: Math.round(bareMbps),
        ratioVsBareRoute: Math.round((mbps / bareMbps) * 100) / 100,
        memory: { idleRssMb: mb(idle.rssKb), peakRssMb: mb(peak), growthMb, flat, limitMb },
      },
    };
  } finally {
    await broker.stop();
    await stopChild(baselineChild.child);
  }
}
