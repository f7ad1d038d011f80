/**
 * Synthetic genotype data: real bgzipped VCFs, deterministic from a seed, streamed so that tests
 * can make files of any size without holding them.
 *
 *   await writeSyntheticVcf('/tmp/chr20.vcf.gz', { chromosome: '20', samples: 60, variants: 5000, seed: 1 });
 *   await writeSyntheticCohort(dir, { build: 'hg38', chromosomes: ['20', '21'], samples: 60,
 *     variantsPerChromosome: 3000, seed: 7 });   // -> dir/chr20.vcf.gz (CHROM "chr20"), dir/chr21.vcf.gz
 *   createSyntheticVcfStream(options)            // the same bytes as a Readable (e.g. an upload body)
 *
 * The data look like a genotyping array: VCFv4.2 header with contigs, bi-allelic SNPs with
 * REF != ALT at increasing positions (~3 kb apart) in one region of the chromosome, GT drawn
 * from allele frequencies skewed towards rare variants. Nothing else (no LD, no real rsIDs).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBgzfStream } from './bgzf';

export type Build = 'hg19' | 'hg38';

export interface SyntheticVcfOptions {
  /** CHROM exactly as written: '20', 'chr20', 'X'... (no check against the build, on purpose). */
  chromosome: string;
  /** Sample ids, or how many to generate (`SAMPLE0001`...). */
  samples: string[] | number;
  variants: number;
  /** Default 1. The same options and seed always give the same bytes. */
  seed?: number;
  /** GT separator `|` (default true) or `/`. */
  phased?: boolean;
  /** Contig lengths and `##reference` (default: hg38 when the name has `chr`, else hg19). */
  build?: Build;
  /** bgzip level (default 6). */
  level?: number;
}

export interface SyntheticCohortOptions {
  build: Build;
  /** Bare names ('20', 'X') or numbers; files are `chr<name>.vcf.gz`, CHROM styled per build. */
  chromosomes: (string | number)[];
  samples: string[] | number;
  variantsPerChromosome: number;
  seed?: number;
  phased?: boolean;
  level?: number;
}

// GRCh37 and GRCh38 primary assembly lengths (UCSC hg19/hg38 chromInfo).
const LENGTHS: Record<Build, Record<string, number>> = {
  hg19: {
    1: 249250621, 2: 243199373, 3: 198022430, 4: 191154276, 5: 180915260, 6: 171115067,
    7: 159138663, 8: 146364022, 9: 141213431, 10: 135534747, 11: 135006516, 12: 133851895,
    13: 115169878, 14: 107349540, 15: 102531392, 16: 90354753, 17: 81195210, 18: 78077248,
    19: 59128983, 20: 63025520, 21: 48129895, 22: 51304566, X: 155270560, Y: 59373566, MT: 16569,
  },
  hg38: {
    1: 248956422, 2: 242193529, 3: 198295559, 4: 190214555, 5: 181538259, 6: 170805979,
    7: 159345973, 8: 145138636, 9: 138394717, 10: 133797422, 11: 135086622, 12: 133275309,
    13: 114364328, 14: 107043718, 15: 101991189, 16: 90338345, 17: 83257441, 18: 80373285,
    19: 58617616, 20: 64444167, 21: 46709983, 22: 50818468, X: 156040895, Y: 57227415, M: 16569, MT: 16569,
  },
};

const BASES = ['A', 'C', 'G', 'T'] as const;

/** mulberry32: tiny, fast, and good enough for fake genotypes; deterministic across platforms. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sampleIds(samples: string[] | number): string[] {
  if (Array.isArray(samples)) return samples;
  return Array.from({ length: samples }, (_, i) => `SAMPLE${String(i + 1).padStart(4, '0')}`);
}

/** The VCF text, line by line (each with its newline), without compression. */
export function* syntheticVcfLines(options: SyntheticVcfOptions): Generator<string> {
  const ids = sampleIds(options.samples);
  const build: Build = options.build ?? (options.chromosome.startsWith('chr') ? 'hg38' : 'hg19');
  const bare = options.chromosome.replace(/^chr/, '');
  const length = LENGTHS[build][bare] ?? 100_000_000;
  const next = random(options.seed ?? 1);
  const sep = (options.phased ?? true) ? '|' : '/';

  yield '##fileformat=VCFv4.2\n';
  yield '##source=imputation-broker synthetic cohort (not real data)\n';
  yield `##reference=${build === 'hg19' ? 'GRCh37' : 'GRCh38'}\n`;
  yield `##contig=<ID=${options.chromosome},length=${length},assembly=${build}>\n`;
  yield '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency used to draw the genotypes">\n';
  yield '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n';
  yield `#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t${ids.join('\t')}\n`;

  // One region of the chromosome, ~3 kb between markers like a dense genotyping array, shrunk
  // when many variants must fit.
  // 60 % along: on the long arm of every chromosome, clear of centromeres and acrocentric short arms.
  const start = Math.floor(length * 0.6) + Math.floor(next() * 100_000);
  const meanGap = Math.max(1, Math.min(3000, Math.floor((length - start) / (2 * (options.variants + 1)))));
  let position = start;
  const gt = new Array<string>(ids.length);
  for (let v = 0; v < options.variants; v++) {
    position += 1 + Math.floor(next() * (2 * meanGap - 1));
    const refIndex = Math.floor(next() * 4);
    const ref = BASES[refIndex] as string;
    const alt = BASES[(refIndex + 1 + Math.floor(next() * 3)) % 4] as string;
    // Mostly rare variants, some common ones (a rough site-frequency spectrum).
    const af = Math.max(0.005, Math.min(0.95, next() ** 2 * 0.6));
    for (let s = 0; s < ids.length; s++) {
      const a = next() < af ? 1 : 0;
      const b = next() < af ? 1 : 0;
      gt[s] = sep === '|' ? `${a}|${b}` : `${Math.min(a, b)}/${Math.max(a, b)}`;
    }
    yield `${options.chromosome}\t${position}\t${options.chromosome}:${position}:${ref}:${alt}\t${ref}\t${alt}\t.\tPASS\tAF=${af.toFixed(4)}\tGT\t${gt.join('\t')}\n`;
  }
}

/** Groups lines into ~64 KB strings: one stream chunk per line would dominate the cost. */
function* batched(lines: Iterable<string>): Generator<string> {
  let batch = '';
  for (const line of lines) {
    batch += line;
    if (batch.length >= 65_536) {
      yield batch;
      batch = '';
    }
  }
  if (batch.length > 0) yield batch;
}

/** The bgzipped VCF as a Readable stream. */
export function createSyntheticVcfStream(options: SyntheticVcfOptions): Readable {
  const text = Readable.from(batched(syntheticVcfLines(options)), { objectMode: false });
  const bgzf = createBgzfStream({ level: options.level });
  text.on('error', (e) => bgzf.destroy(e));
  return text.pipe(bgzf);
}

export interface SyntheticFile {
  path: string;
  chromosome: string;
  samples: string[];
  variants: number;
}

export async function writeSyntheticVcf(file: string, options: SyntheticVcfOptions): Promise<SyntheticFile> {
  await mkdir(path.dirname(file), { recursive: true });
  await pipeline(
    Readable.from(batched(syntheticVcfLines(options)), { objectMode: false }),
    createBgzfStream({ level: options.level }),
    createWriteStream(file),
  );
  return { path: file, chromosome: options.chromosome, samples: sampleIds(options.samples), variants: options.variants };
}

/** One file per chromosome, same samples in each; hg19 names CHROM `20`, hg38 `chr20`. */
export async function writeSyntheticCohort(dir: string, options: SyntheticCohortOptions): Promise<SyntheticFile[]> {
  const samples = sampleIds(options.samples);
  const files: SyntheticFile[] = [];
  for (const [index, name] of options.chromosomes.entries()) {
    const bare = String(name).replace(/^chr/, '');
    const chromosome = options.build === 'hg38' ? `chr${bare}` : bare;
    files.push(
      await writeSyntheticVcf(path.join(dir, `chr${bare}.vcf.gz`), {
        chromosome,
        samples,
        variants: options.variantsPerChromosome,
        // Distinct but reproducible per chromosome.
        seed: ((options.seed ?? 1) * 1000 + index + 1) >>> 0,
        phased: options.phased,
        build: options.build,
        level: options.level,
      }),
    );
  }
  return files;
}
