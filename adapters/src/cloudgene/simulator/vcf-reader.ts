/**
 * Streaming reader of the uploaded (b)gzipped VCFs for the QC and imputation steps: one record at a
 * time, so memory stays flat whatever the file size. Validation itself uses `vcf/inspect.ts`.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

export interface VcfRecord {
  chrom: string;
  pos: number;
  id: string;
  ref: string;
  alt: string;
  filter: string;
  /** Two allele codes per sample (diploid), -1 = missing. Haploid calls repeat the allele. */
  alleles: Int16Array;
  phased: boolean;
}

export interface VcfStream {
  samples: string[];
  records: AsyncGenerator<VcfRecord>;
  close(): void;
}

function parseGenotypes(fields: string[], sampleCount: number): { alleles: Int16Array; phased: boolean } {
  const alleles = new Int16Array(sampleCount * 2).fill(-1);
  const format = (fields[8] ?? '').split(':');
  const gtIndex = format.indexOf('GT');
  let phased = true;
  if (gtIndex < 0) return { alleles, phased: false };
  for (let s = 0; s < sampleCount; s++) {
    const gt = (fields[9 + s] ?? '.').split(':')[gtIndex] ?? '.';
    // Haploid calls (chrX males) carry no phase information either way.
    if (gt.includes('/')) phased = false;
    const parts = gt.split(/[|/]/);
    const a = parts[0] === undefined || parts[0] === '.' ? -1 : Number(parts[0]);
    const b = parts.length > 1 ? (parts[1] === '.' ? -1 : Number(parts[1])) : a;
    alleles[s * 2] = Number.isFinite(a) ? a : -1;
    alleles[s * 2 + 1] = Number.isFinite(b) ? b : -1;
  }
  return { alleles, phased };
}

export async function openVcf(path: string): Promise<VcfStream> {
  const file = createReadStream(path);
  // Node's gunzip continues across concatenated members, which is exactly what BGZF is.
  const lines = createInterface({ input: file.pipe(createGunzip()), crlfDelay: Infinity });
  const iterator = lines[Symbol.asyncIterator]();
  let samples: string[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    const line = next.value;
    if (line.startsWith('##')) continue;
    if (line.startsWith('#CHROM')) {
      samples = line.split('\t').slice(9);
      break;
    }
  }
  const count = samples.length;
  async function* records(): AsyncGenerator<VcfRecord> {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const line = next.value;
      if (line === '' || line.startsWith('#')) continue;
      const f = line.split('\t');
      const { alleles, phased } = parseGenotypes(f, count);
      yield {
        chrom: f[0] ?? '',
        pos: Number(f[1]),
        id: f[2] ?? '.',
        ref: f[3] ?? '',
        alt: f[4] ?? '',
        filter: f[6] ?? '.',
        alleles,
        phased,
      };
    }
  }
  return {
    samples,
    records: records(),
    close: () => {
      lines.close();
      file.destroy();
    },
  };
}
