/**
 * Stand-in for Minimac4: writes `chr<N>.dose.vcf.gz` and `chr<N>.info.gz` computed from the input.
 * Typed sites keep their genotypes (phased deterministically when unphased); between neighbouring
 * typed sites two "imputed" sites are interpolated from the flanking haplotypes. Rsq is Minimac's
 * estimator var(HDS)/(p(1-p)), so every number follows from the data.
 */
import { join } from 'node:path';
import { openVcf, type VcfRecord } from './vcf-reader';
import { TextSink } from './sink';
import { chunkOf, countAlleles, exclusionReason, inPanel } from './qc';
import { hash32, unitHash } from './format';

export interface ChromosomeResult {
  /** Bare chromosome name (`20`, `X`), used for `chr_<N>.zip`. */
  chrom: string;
  files: { entry: string; path: string }[];
}

export interface ImputeOptions {
  passedChunks: Set<string>;
  /** Output coordinates follow the panel build: hg38 names chromosomes `chr20`, hg19 `20`. */
  panelBuild: 'hg19' | 'hg38';
  minR2: number;
  meta: boolean;
  tmpDir: string;
  signal?: AbortSignal;
  now: number;
}

const IMPUTED_PER_GAP = 2;
const BASES = ['A', 'C', 'G', 'T'];

function fmt(x: number): string {
  if (Number.isInteger(x)) return x.toString();
  return Number(x.toFixed(3)).toString();
}

interface Haplotypes {
  /** Two haplotype dosages per sample in [0,1]. */
  hds: Float64Array;
  typed: boolean;
}

function typedHaplotypes(r: VcfRecord): Float64Array {
  const n = r.alleles.length / 2;
  const counts = countAlleles(r);
  const p = counts.ref + counts.alt === 0 ? 0 : counts.alt / (counts.ref + counts.alt);
  const hds = new Float64Array(n * 2);
  for (let s = 0; s < n; s++) {
    let a = r.alleles[s * 2] ?? -1;
    let b = r.alleles[s * 2 + 1] ?? -1;
    // Eagle would phase heterozygous calls; a data-derived coin keeps the output reproducible.
    if (!r.phased && a !== b && hash32(`${r.pos}:${s}`) % 2 === 1) [a, b] = [b, a];
    hds[s * 2] = a < 0 ? p : a > 0 ? 1 : 0;
    hds[s * 2 + 1] = b < 0 ? p : b > 0 ? 1 : 0;
  }
  return hds;
}

function interpolate(left: Float64Array, right: Float64Array, pos: number): Float64Array {
  const out = new Float64Array(left.length);
  for (let i = 0; i < left.length; i++) {
    const u = unitHash(`${pos}:${i}`);
    const from = u < 0.5 ? (left[i] ?? 0) : (right[i] ?? 0);
    // Uncertainty grows away from the copied haplotype, as real imputed dosages do.
    out[i] = Math.min(1, Math.max(0, from * (0.85 + 0.15 * u) + (1 - from) * 0.1 * u));
  }
  return out;
}

interface SiteMetrics {
  af: number;
  maf: number;
  avgCall: number;
  rsq: number;
}

function metrics(h: Haplotypes): SiteMetrics {
  const m = h.hds.length;
  let sum = 0;
  let sumSq = 0;
  let call = 0;
  for (let i = 0; i < m; i++) {
    const x = h.hds[i] ?? 0;
    sum += x;
    sumSq += x * x;
  }
  for (let s = 0; s < m / 2; s++) {
    const a = h.hds[s * 2] ?? 0;
    const b = h.hds[s * 2 + 1] ?? 0;
    call += Math.max((1 - a) * (1 - b), a * (1 - b) + b * (1 - a), a * b);
  }
  const p = m === 0 ? 0 : sum / m;
  const variance = m === 0 ? 0 : sumSq / m - p * p;
  const rsq = p <= 0 || p >= 1 ? 0 : Math.min(1, variance / (p * (1 - p)));
  return { af: p, maf: Math.min(p, 1 - p), avgCall: m === 0 ? 0 : call / (m / 2), rsq };
}

function sampleColumns(h: Haplotypes): string {
  const cols: string[] = [];
  for (let s = 0; s < h.hds.length / 2; s++) {
    const a = h.hds[s * 2] ?? 0;
    const b = h.hds[s * 2 + 1] ?? 0;
    const gp = [(1 - a) * (1 - b), a * (1 - b) + b * (1 - a), a * b];
    cols.push(`${a >= 0.5 ? 1 : 0}|${b >= 0.5 ? 1 : 0}:${fmt(a + b)}:${fmt(a)},${fmt(b)}:${gp.map(fmt).join(',')}`);
  }
  return cols.join('\t');
}

function doseHeader(chrom: string, samples: string[], now: number): string {
  const d = new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
  return [
    '##fileformat=VCFv4.2',
    `##filedate=${d}`,
    '##source=Minimac v4.1.6',
    '##phasing=full',
    `##contig=<ID=${chrom}>`,
    '##INFO=<ID=AF,Number=1,Type=Float,Description="Estimated Alternate Allele Frequency">',
    '##INFO=<ID=MAF,Number=1,Type=Float,Description="Estimated Minor Allele Frequency">',
    '##INFO=<ID=AVG_CS,Number=1,Type=Float,Description="Average Call Score">',
    '##INFO=<ID=R2,Number=1,Type=Float,Description="Estimated Imputation Accuracy (R-square)">',
    '##INFO=<ID=IMPUTED,Number=0,Type=Flag,Description="Marker was imputed">',
    '##INFO=<ID=TYPED,Number=0,Type=Flag,Description="Marker was genotyped">',
    '##INFO=<ID=TYPED_ONLY,Number=0,Type=Flag,Description="Marker was genotyped but NOT imputed">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Estimated Alternate Allele Dosage : [P(0/1)+2*P(1/1)]">',
    '##FORMAT=<ID=HDS,Number=.,Type=Float,Description="Estimated Haploid Alternate Allele Dosage ">',
    '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Estimated Posterior Probabilities for Genotypes 0/0, 0/1 and 1/1 ">',
    `#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t${samples.join('\t')}`,
  ].join('\n') + '\n';
}

const INFO_HEADER = 'SNP\tREF(0)\tALT(1)\tALT_Frq\tMAF\tAvgCall\tRsq\tGenotyped\tLooRsq\tEmpR\tEmpRsq\tDose0\tDose1\n';

/** Imputes one input file (one chromosome). Returns null when the file has no site in a passed chunk. */
export async function imputeFile(path: string, opts: ImputeOptions): Promise<ChromosomeResult | null> {
  const vcf = await openVcf(path);
  let dose: TextSink | null = null;
  let info: TextSink | null = null;
  let empirical: TextSink | null = null;
  let result: ChromosomeResult | null = null;
  let outChrom = '';
  let prev: VcfRecord | null = null;
  let lastTyped: { pos: number; hds: Float64Array; chunk: string } | null = null;
  let seen = 0;

  const writeSite = async (pos: number, id: string, ref: string, alt: string, h: Haplotypes, kind: 'Genotyped' | 'Imputed' | 'Typed_Only'): Promise<void> => {
    if (!dose || !info) return;
    const m = metrics(h);
    if (kind === 'Imputed' && m.rsq < opts.minR2) return;
    const flag = kind === 'Imputed' ? 'IMPUTED' : kind === 'Genotyped' ? 'TYPED' : 'TYPED_ONLY';
    const infoField = `AF=${m.af.toFixed(5)};MAF=${m.maf.toFixed(5)};AVG_CS=${m.avgCall.toFixed(5)};R2=${m.rsq.toFixed(5)};${flag}`;
    const line = `${outChrom}\t${pos}\t${id}\t${ref}\t${alt}\t.\tPASS\t${infoField}\tGT:DS:HDS:GP\t${sampleColumns(h)}\n`;
    await dose.write(line);
    if (kind !== 'Imputed' && empirical) await empirical.write(line);
    const snp = `${outChrom}:${pos}:${ref}:${alt}`;
    const loo = kind === 'Genotyped' ? (m.rsq * (0.9 + 0.1 * unitHash(snp))).toFixed(5) : '-';
    const empR = kind === 'Genotyped' ? Math.sqrt(Number(loo)).toFixed(5) : '-';
    const empRsq = kind === 'Genotyped' ? loo : '-';
    const dose0 = kind === 'Genotyped' ? (0.02 * unitHash(`${snp}:0`)).toFixed(5) : '-';
    const dose1 = kind === 'Genotyped' ? (1 - 0.02 * unitHash(`${snp}:1`)).toFixed(5) : '-';
    await info.write(
      `${snp}\t${ref}\t${alt}\t${m.af.toFixed(5)}\t${m.maf.toFixed(5)}\t${m.avgCall.toFixed(5)}\t${m.rsq.toFixed(5)}\t${kind}\t${loo}\t${empR}\t${empRsq}\t${dose0}\t${dose1}\n`,
    );
  };

  try {
    for await (const r of vcf.records) {
      if ((++seen & 1023) === 0 && opts.signal?.aborted) throw new Error('canceled');
      const counts = countAlleles(r);
      const excluded = exclusionReason(r, prev, counts) !== null;
      prev = r;
      if (excluded) continue;
      const chunk = chunkOf(r.chrom, r.pos).key;
      if (!opts.passedChunks.has(chunk)) continue;
      if (!dose) {
        const bare = r.chrom.replace(/^chr/, '');
        outChrom = opts.panelBuild === 'hg38' ? `chr${bare}` : bare;
        const dosePath = join(opts.tmpDir, `chr${bare}.dose.vcf.gz`);
        const infoPath = join(opts.tmpDir, `chr${bare}.info.gz`);
        dose = new TextSink(dosePath, true);
        info = new TextSink(infoPath, true);
        await dose.write(doseHeader(outChrom, vcf.samples, opts.now));
        await info.write(INFO_HEADER);
        result = {
          chrom: bare,
          files: [
            { entry: `chr${bare}.dose.vcf.gz`, path: dosePath },
            { entry: `chr${bare}.info.gz`, path: infoPath },
          ],
        };
        if (opts.meta) {
          const empPath = join(opts.tmpDir, `chr${bare}.empiricalDose.vcf.gz`);
          empirical = new TextSink(empPath, true);
          await empirical.write(doseHeader(outChrom, vcf.samples, opts.now));
          result.files.push({ entry: `chr${bare}.empiricalDose.vcf.gz`, path: empPath });
        }
      }
      const hds = typedHaplotypes(r);
      if (lastTyped && lastTyped.chunk === chunk && r.pos - lastTyped.pos > IMPUTED_PER_GAP + 1) {
        for (let k = 1; k <= IMPUTED_PER_GAP; k++) {
          const pos = lastTyped.pos + Math.floor(((r.pos - lastTyped.pos) * k) / (IMPUTED_PER_GAP + 1));
          const hv = hash32(`${outChrom}:${pos}`);
          const ref = BASES[hv % 4] ?? 'A';
          const alt = BASES[(hv % 4 + 1 + ((hv >>> 2) % 3)) % 4] ?? 'G';
          await writeSite(pos, '.', ref, alt, { hds: interpolate(lastTyped.hds, hds, pos), typed: false }, 'Imputed');
        }
      }
      await writeSite(r.pos, r.id, r.ref, r.alt, { hds, typed: true }, inPanel(r.chrom, r.pos) ? 'Genotyped' : 'Typed_Only');
      lastTyped = { pos: r.pos, hds, chunk };
    }
  } finally {
    vcf.close();
    await dose?.close();
    await info?.close();
    await empirical?.close();
  }
  return result;
}
