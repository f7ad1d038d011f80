/**
 * POST /runs with one large attachment, streamed as multipart from disk (nothing buffered in the
 * client), to a broker in its own process whose RSS is sampled every 100 ms. Baseline: copying
 * the same file on the same disk with a plain stream pipe.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { devToken, startBrokerChild } from './lib/broker';
import { ensureBigVcf } from './lib/big-vcf';
import { ROOT, removeDir, sampleRss, sleep, tempDir, type MemSample } from './lib/proc';

export interface UploadResult {
  file: { path: string; bytes: number; samples: number; level: number; cached: boolean; genS: number };
  baseline: { copyS: number; mbps: number };
  upload: {
    seconds: number;
    mbps: number;
    status: number;
    response: string;
    /** Time until the last body byte was handed to the socket. */
    sentS: number;
  };
  memory: {
    idleRssMb: number;
    peakRssMb: number;
    growthMb: number;
    /** VmHWM at the end: the process's all-time peak, start-up included. */
    hwmMb: number;
    samples: number;
    flat: boolean;
    limitMb: number;
  };
  ratio: { throughputVsDiskCopy: number };
}

const MB = 1024 * 1024;
const num = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 && process.env[name] !== '' && process.env[name] !== undefined ? v : def;
};
const mb = (kb: number) => Math.round(kb / 102.4) / 10;

function postMultipart(
  url: string,
  token: string,
  file: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: string; sentAt: number }> {
  const boundary = `----ibroker-bench-${randomBytes(12).toString('hex')}`;
  let pre = '';
  for (const [k, v] of Object.entries(fields)) {
    pre += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  }
  pre += `--${boundary}\r\nContent-Disposition: form-data; name="workflow_attachment"; filename="chr20.vcf.gz"\r\nContent-Type: application/gzip\r\n\r\n`;
  const post = `\r\n--${boundary}--\r\n`;
  const size = statSync(file).size;
  const length = Buffer.byteLength(pre) + size + Buffer.byteLength(post);
  async function* body() {
    yield Buffer.from(pre);
    for await (const chunk of createReadStream(file, { highWaterMark: MB })) yield chunk as Buffer;
    yield Buffer.from(post);
  }
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(length),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 4000) text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, sentAt }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30 * 60_000, () => req.destroy(new Error('upload timed out after 30 min')));
    req.on('error', reject);
    const source = Readable.from(body());
    source.on('error', (e) => req.destroy(e));
    source.on('end', () => (sentAt = performance.now()));
    source.pipe(req);
  });
}

export async function benchUpload(log: (s: string) => void): Promise<UploadResult> {
  const sizeMb = num('BENCH_UPLOAD_MB', 2048);
  const level = num('BENCH_UPLOAD_LEVEL', 0);
  const samples = num('BENCH_UPLOAD_SAMPLES', 5000);
  const limitMb = 300;
  const path = join(ROOT, '.data/bench', `upload-${sizeMb}mb-s${samples}-l${level}.vcf.gz`);
  const gen = await ensureBigVcf(path, { targetBytes: sizeMb * MB, samples, level }, log);
  log(`  file ${path}: ${(gen.bytes / MB).toFixed(0)} MiB${gen.cached ? ' (cached)' : ` (generated in ${gen.genS} s)`}`);

  // Baseline: the same bytes through a plain read -> write pipe on the same disk.
  const copyDir = tempDir('copy');
  let copyS: number;
  try {
    const t0 = performance.now();
    await pipeline(createReadStream(path), createWriteStream(join(copyDir, 'copy.vcf.gz')));
    copyS = (performance.now() - t0) / 1000;
  } finally {
    removeDir(copyDir);
  }
  const copyMbps = gen.bytes / MB / copyS;
  log(`  baseline disk copy: ${copyS.toFixed(1)} s, ${copyMbps.toFixed(0)} MiB/s`);

  const broker = await startBrokerChild({ MAX_UPLOAD_BYTES: String(64 * 1024 ** 3) });
  try {
    const token = await devToken(broker.info.tokenEndpoint!);
    const url = broker.info.url;
    await sleep(1000); // let start-up work (catalog refresh, sweep) settle before the idle figure
    const sampler = sampleRss(broker.info.pid, 100);
    await sleep(500);
    const idle = sampler.read()!;
    const t0 = performance.now();
    const res = await postMultipart(`${url}/ga4gh/wes/v1/runs`, token, path, {
      workflow_type: 'NFL',
      workflow_type_version: 'DSL2',
      workflow_url: `${url}/workflows/imputation`,
      workflow_params: JSON.stringify({ refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19' }),
    });
    const seconds = (performance.now() - t0) / 1000;
    await sleep(300);
    const samplesTaken: MemSample[] = sampler.stop();
    const peak = Math.max(...samplesTaken.map((s) => s.rssKb));
    const hwm = samplesTaken[samplesTaken.length - 1]!.hwmKb;
    const mbps = gen.bytes / MB / seconds;
    const growthMb = mb(peak - idle.rssKb);
    const flat = mb(peak) < limitMb && growthMb < 100;
    log(`  upload: ${seconds.toFixed(1)} s, ${mbps.toFixed(0)} MiB/s -> HTTP ${res.status} ${res.body.slice(0, 160)}`);
    log(`  broker RSS: idle ${mb(idle.rssKb)} MB, peak ${mb(peak)} MB (+${growthMb} MB), VmHWM ${mb(hwm)} MB -> ${flat ? 'flat' : 'NOT flat'}`);
    return {
      file: { path, bytes: gen.bytes, samples, level, cached: gen.cached, genS: gen.genS },
      baseline: { copyS: Math.round(copyS * 100) / 100, mbps: Math.round(copyMbps) },
      upload: {
        seconds: Math.round(seconds * 100) / 100,
        mbps: Math.round(mbps * 10) / 10,
        status: res.status,
        response: res.body.slice(0, 500),
        sentS: Math.round(((res.sentAt || performance.now()) - t0) / 10) / 100,
      },
      memory: { idleRssMb: mb(idle.rssKb), peakRssMb: mb(peak), growthMb, hwmMb: mb(hwm), samples: samplesTaken.length, flat, limitMb },
      ratio: { throughputVsDiskCopy: Math.round((mbps / copyMbps) * 1000) / 1000 },
    };
  } finally {
    await broker.stop();
  }
}
