/**
 * A large synthetic bgzipped VCF, fast: the header comes from the adapters' synthetic generator,
 * the genotype columns of each record are taken from a pool of pre-drawn rows (a prime number
 * of them, each ~4 bytes per sample, so no repeat falls inside deflate's 32 KB window), and
 * positions keep increasing so the file is sorted and valid for Cloudgene's checks.
 * Written to `<file>.partial` and renamed, so a cached file is always complete.
 */
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBgzfStream } from '@ibroker/adapters/vcf/bgzf';
import { syntheticVcfLines } from '@ibroker/adapters/vcf/synth';
import { random } from '@ibroker/adapters/vcf/synth';

export interface BigVcfOptions {
  targetBytes: number;
  samples: number;
  /** bgzip level: 0 stores blocks uncompressed (fast, wire bytes = text bytes), 1-9 compress. */
  level: number;
  chromosome?: string;
}

const POOL = 997;
const BASES = ['A', 'C', 'G', 'T'];

/** Text of the VCF, in ~1 MB chunks, up to about `textBytes`. */
function* text(o: BigVcfOptions, textBytes: number): Generator<Buffer> {
  const chrom = o.chromosome ?? '20';
  const header = [...syntheticVcfLines({ chromosome: chrom, samples: o.samples, variants: 0, build: 'hg19' })].join('');
  yield Buffer.from(header);
  const next = random(42);
  const pool: Buffer[] = [];
  for (let p = 0; p < POOL; p++) {
    const af = Math.max(0.01, Math.min(0.95, next() ** 2 * 0.6));
    const gt = new Array<string>(o.samples);
    for (let s = 0; s < o.samples; s++) gt[s] = `${next() < af ? 1 : 0}|${next() < af ? 1 : 0}`;
    pool.push(Buffer.from(`\tGT\t${gt.join('\t')}\n`));
  }
  const rowBytes = pool[0]!.length + 60;
  const variants = Math.max(1, Math.ceil((textBytes - header.length) / rowBytes));
  // chr20 (hg19) is 63 Mb; start at 30 Mb, spacing shrinks as needed to fit.
  const start = 30_000_000;
  const gap = Math.max(1, Math.floor((60_000_000 - start) / variants));
  let pos = start;
  let written = header.length;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  for (let v = 0; v < variants && written < textBytes; v++) {
    pos += gap;
    const r = Math.floor(next() * 4);
    const ref = BASES[r]!;
    const alt = BASES[(r + 1 + Math.floor(next() * 3)) % 4]!;
    const head = Buffer.from(`${chrom}\t${pos}\t${chrom}:${pos}:${ref}:${alt}\t${ref}\t${alt}\t.\tPASS\tAF=0.1000`);
    const gt = pool[v % POOL]!;
    batch.push(head, gt);
    batchBytes += head.length + gt.length;
    written += head.length + gt.length;
    if (batchBytes >= 1 << 20) {
      yield Buffer.concat(batch, batchBytes);
      batch = [];
      batchBytes = 0;
    }
  }
  if (batchBytes) yield Buffer.concat(batch, batchBytes);
}

/** Compression ratio of the pool rows at a level, from a small trial (to size the text). */
async function estimateRatio(o: BigVcfOptions): Promise<number> {
  if (o.level === 0) return 1;
  let out = 0;
  const sample = 32 << 20;
  const gz = createBgzfStream({ level: o.level });
  gz.on('data', (c: Buffer) => (out += c.length));
  await pipeline(Readable.from(text(o, sample)), gz);
  return sample / out;
}

export async function ensureBigVcf(file: string, o: BigVcfOptions, log: (s: string) => void): Promise<{ bytes: number; cached: boolean; genS: number }> {
  if (existsSync(file)) return { bytes: statSync(file).size, cached: true, genS: 0 };
  await mkdir(dirname(file), { recursive: true });
  const t0 = performance.now();
  const ratio = await estimateRatio(o);
  log(`  generating ${file} (~${Math.round(o.targetBytes / 2 ** 20)} MiB, ${o.samples} samples, bgzip level ${o.level}, ratio ~${ratio.toFixed(1)})...`);
  const partial = `${file}.partial`;
  try {
    await pipeline(Readable.from(text(o, o.targetBytes * ratio)), createBgzfStream({ level: o.level }), createWriteStream(partial));
    await rename(partial, file);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
  return { bytes: statSync(file).size, cached: false, genS: Math.round((performance.now() - t0) / 100) / 10 };
}
