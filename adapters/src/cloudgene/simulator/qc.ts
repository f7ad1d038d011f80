/**
 * The Quality Control step of imputationserver-utils, run for real on the uploaded data: per-site
 * filters, reference overlap against a simulated panel (site membership derived deterministically
 * from the position), 20 Mb chunks and their exclusion rules. Produces the literal `qc_report.txt`
 * text (GitHub-Actions-style commands) and the statistics files.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { openVcf, type VcfRecord } from './vcf-reader';
import { TextSink } from './sink';
import { thousands, unitHash } from './format';
import type { RefPanel } from './profiles';

export const CHUNK_SIZE = 20_000_000;

export interface QcStats {
  altAfAboveHalf: number;
  match: number;
  alleleSwitch: number;
  strandFlip: number;
  strandFlipAndAlleleSwitch: number;
  atcg: number;
  filterFlag: number;
  invalidAlleles: number;
  multiallelic: number;
  duplicated: number;
  nonSnp: number;
  monomorphic: number;
  alleleMismatch: number;
  lowCallRate: number;
  typedOnly: number;
  total: number;
}

export interface ChunkStat {
  key: string;
  chrom: string;
  start: number;
  end: number;
  snps: number;
  inPanel: number;
  lowSampleCallRates: number;
  excluded: string | null;
}

export interface QcScan {
  samples: number;
  chromosomes: string[];
  stats: QcStats;
  chunks: ChunkStat[];
  phased: boolean;
}

export type CommandKind = 'message' | 'warning' | 'log' | 'error';
export interface Command {
  kind: CommandKind;
  /** `group` commands span several lines (`::group type=…::` … `::endgroup::`). */
  group: boolean;
  text: string;
}

/** The simulated panel holds ~99 % of input sites; which ones depends only on the position. */
export function inPanel(chrom: string, pos: number): boolean {
  return unitHash(`${chrom.replace(/^chr/, '')}:${pos}`) >= 0.01;
}

export function chunkOf(chrom: string, pos: number): { key: string; start: number; end: number } {
  const index = Math.floor((pos - 1) / CHUNK_SIZE);
  const start = index * CHUNK_SIZE + 1;
  const end = (index + 1) * CHUNK_SIZE;
  const pad = (n: number): string => n.toString().padStart(10, '0');
  return { key: `chunk_${chrom.replace(/^chr/, '')}_${pad(start)}_${pad(end)}`, start, end };
}

const SNP_ALLELE = /^[ACGT]$/;
const VALID_ALLELES = /^[ACGTN]+$/;
const AMBIGUOUS = new Set(['AT', 'TA', 'CG', 'GC']);

export function exclusionReason(r: VcfRecord, prev: VcfRecord | null, counts: { called: number; alt: number; ref: number; n: number }): string | null {
  if (r.filter !== 'PASS' && r.filter !== '.') return `FILTER - ${r.filter}`;
  if (r.alt.includes(',')) return 'Multiallelic Site';
  if (!VALID_ALLELES.test(r.ref) || !VALID_ALLELES.test(r.alt)) return 'Invalid Alleles';
  if (!SNP_ALLELE.test(r.ref) || !SNP_ALLELE.test(r.alt)) return 'Indel';
  if (prev && prev.chrom === r.chrom && prev.pos === r.pos) return 'Duplicate';
  if (counts.alt === 0 || counts.ref === 0) return 'Monomorphic';
  if (counts.n > 0 && counts.called / counts.n < 0.9) return 'Low call rate';
  return null;
}

export function countAlleles(r: VcfRecord): { called: number; alt: number; ref: number; n: number } {
  let alt = 0;
  let ref = 0;
  let called = 0;
  const n = r.alleles.length / 2;
  for (let s = 0; s < n; s++) {
    const a = r.alleles[s * 2] ?? -1;
    const b = r.alleles[s * 2 + 1] ?? -1;
    if (a >= 0 && b >= 0) called++;
    for (const x of [a, b]) {
      if (x === 0) ref++;
      else if (x > 0) alt++;
    }
  }
  return { called, alt, ref, n };
}

const emptyStats = (): QcStats => ({
  altAfAboveHalf: 0, match: 0, alleleSwitch: 0, strandFlip: 0, strandFlipAndAlleleSwitch: 0, atcg: 0,
  filterFlag: 0, invalidAlleles: 0, multiallelic: 0, duplicated: 0, nonSnp: 0, monomorphic: 0,
  alleleMismatch: 0, lowCallRate: 0, typedOnly: 0, total: 0,
});

const REASON_TO_STAT: Record<string, keyof QcStats> = {
  'Multiallelic Site': 'multiallelic',
  'Invalid Alleles': 'invalidAlleles',
  Indel: 'nonSnp',
  Duplicate: 'duplicated',
  Monomorphic: 'monomorphic',
  'Low call rate': 'lowCallRate',
};

/**
 * One streaming pass over every input: statistics, the per-site exclusion lists (written to
 * `statsDir`) and the chunk table. `signal` aborts between records (cancel).
 */
export async function scanInputs(
  paths: string[],
  panel: RefPanel,
  statsDir: string,
  signal?: AbortSignal,
): Promise<QcScan> {
  await mkdir(statsDir, { recursive: true });
  const excludedOut = new TextSink(join(statsDir, 'snps-excluded.txt'));
  const typedOnlyOut = new TextSink(join(statsDir, 'snps-typed-only.txt'));
  await excludedOut.write('ID\tCHROM\tPOS\tREF\tALT\tINFO\n');
  await typedOnlyOut.write('ID\tCHROM\tPOS\tREF\tALT\n');
  const stats = emptyStats();
  const chunks = new Map<string, ChunkStat & { sampleCalls: Uint32Array; sites: number }>();
  const chromosomes: string[] = [];
  let samples = 0;
  let phased = true;
  try {
    for (const path of paths) {
      const vcf = await openVcf(path);
      samples = Math.max(samples, vcf.samples.length);
      let prev: VcfRecord | null = null;
      let seen = 0;
      try {
        for await (const r of vcf.records) {
          if ((++seen & 1023) === 0 && signal?.aborted) throw new Error('canceled');
          if (!chromosomes.includes(r.chrom)) chromosomes.push(r.chrom);
          phased = phased && r.phased;
          stats.total++;
          const counts = countAlleles(r);
          if (counts.ref + counts.alt > 0 && counts.alt / (counts.ref + counts.alt) > 0.5) stats.altAfAboveHalf++;
          const reason = exclusionReason(r, prev, counts);
          prev = r;
          if (reason !== null) {
            const stat = REASON_TO_STAT[reason] ?? 'filterFlag';
            stats[stat]++;
            await excludedOut.write(`${r.id}\t${r.chrom}\t${r.pos}\t${r.ref}\t${r.alt}\t${reason}\n`);
            continue;
          }
          if (AMBIGUOUS.has(r.ref + r.alt)) stats.atcg++;
          const member = inPanel(r.chrom, r.pos);
          if (member) stats.match++;
          else {
            stats.typedOnly++;
            await typedOnlyOut.write(`${r.id}\t${r.chrom}\t${r.pos}\t${r.ref}\t${r.alt}\n`);
          }
          const c = chunkOf(r.chrom, r.pos);
          let chunk = chunks.get(c.key);
          if (!chunk) {
            chunk = {
              key: c.key, chrom: r.chrom, start: c.start, end: c.end, snps: 0, inPanel: 0,
              lowSampleCallRates: 0, excluded: null, sampleCalls: new Uint32Array(vcf.samples.length), sites: 0,
            };
            chunks.set(c.key, chunk);
          }
          chunk.snps++;
          chunk.sites++;
          if (member) chunk.inPanel++;
          for (let s = 0; s < chunk.sampleCalls.length; s++) {
            if ((r.alleles[s * 2] ?? -1) >= 0) chunk.sampleCalls[s] = (chunk.sampleCalls[s] ?? 0) + 1;
          }
        }
      } finally {
        vcf.close();
      }
    }
  } finally {
    await excludedOut.close();
    await typedOnlyOut.close();
  }
  const table: ChunkStat[] = [];
  for (const chunk of chunks.values()) {
    chunk.lowSampleCallRates = Array.from(chunk.sampleCalls).filter((n) => n / chunk.sites < 0.5).length;
    const overlap = chunk.snps === 0 ? 0 : chunk.inPanel / chunk.snps;
    if (chunk.inPanel < panel.minSnps) chunk.excluded = 'snps';
    else if (overlap < 0.5) chunk.excluded = 'overlap';
    else if (chunk.lowSampleCallRates > 0) chunk.excluded = 'callrate';
    const { sampleCalls: _calls, sites: _sites, ...rest } = chunk;
    table.push(rest);
  }
  return { samples, chromosomes, stats, chunks: table, phased };
}

export async function writeChunksExcluded(path: string, chunks: ChunkStat[]): Promise<void> {
  const out = new TextSink(path);
  await out.write('#Chunk\tSNPs (#)\tReference Overlap (%)\tLow Sample Call Rates (#)\n');
  for (const c of chunks.filter((x) => x.excluded !== null)) {
    const overlap = c.snps === 0 ? 0 : c.inPanel / c.snps;
    await out.write(`${c.key}\t${c.inPanel}\t${overlap.toFixed(3)}\t${c.lowSampleCallRates}\n`);
  }
  await out.close();
}

export interface QcOutcome {
  commands: Command[];
  failed: boolean;
  passedChunks: ChunkStat[];
}

/** Literal UTILS QualityControlCommand output, including the fatal conditions. */
export function qcReport(
  scan: QcScan,
  opts: { inputBuild: string; panel: RefPanel; population: string; minSnps: number; maxStrandFlips: number; maxAlleleSwitches: number },
): QcOutcome {
  const s = scan.stats;
  const cmds: Command[] = [];
  if (opts.population === 'off') cmds.push({ kind: 'warning', group: false, text: 'Skip allele frequency check.' });
  if (opts.inputBuild !== opts.panel.build) {
    cmds.push({ kind: 'warning', group: false, text: `Uploaded data is ${opts.inputBuild} and reference is ${opts.panel.build}.` });
    cmds.push({ kind: 'message', group: false, text: 'Lift Over' });
  }
  cmds.push({ kind: 'log', group: false, text: 'Reference Panel Ranges: genome-wide' });
  cmds.push({ kind: 'message', group: false, text: 'Calculating QC Statistics' });
  const remaining = s.match + s.typedOnly;
  const overlap = remaining === 0 ? 0 : (100 * s.match) / remaining;
  cmds.push({
    kind: 'message',
    group: true,
    text: [
      '<b>Statistics:</b>',
      `Alternative allele frequency > 0.5 sites: ${thousands(s.altAfAboveHalf)}`,
      `Reference Overlap: ${overlap.toFixed(2)} %`,
      `Match: ${thousands(s.match)}`,
      `Allele switch: ${thousands(s.alleleSwitch)}`,
      `Strand flip: ${thousands(s.strandFlip)}`,
      `Strand flip and allele switch: ${thousands(s.strandFlipAndAlleleSwitch)}`,
      `A/T, C/G genotypes: ${thousands(s.atcg)}`,
      '<b>Filtered sites:</b>',
      `Filter flag set: ${thousands(s.filterFlag)}`,
      `Invalid alleles: ${thousands(s.invalidAlleles)}`,
      `Multiallelic sites: ${thousands(s.multiallelic)}`,
      `Duplicated sites: ${thousands(s.duplicated)}`,
      `NonSNP sites: ${thousands(s.nonSnp)}`,
      `Monomorphic sites: ${thousands(s.monomorphic)}`,
      `Allele mismatch: ${thousands(s.alleleMismatch)}`,
      `SNPs call rate < 90%: ${thousands(s.lowCallRate)}`,
    ].join('\n'),
  });
  const excludedTotal = s.filterFlag + s.invalidAlleles + s.multiallelic + s.duplicated + s.nonSnp + s.monomorphic + s.alleleMismatch + s.lowCallRate;
  const lines = [
    `Excluded sites in total: ${thousands(excludedTotal)}`,
    `Remaining sites in total: ${thousands(s.match)}`,
    'See snps-excluded.txt for details',
    `Typed only sites: ${thousands(s.typedOnly)}`,
    'See typed-only.txt for details',
    '',
  ];
  const bySnps = scan.chunks.filter((c) => c.excluded === 'snps').length;
  const byOverlap = scan.chunks.filter((c) => c.excluded === 'overlap').length;
  const byCallRate = scan.chunks.filter((c) => c.excluded === 'callrate').length;
  const passed = scan.chunks.filter((c) => c.excluded === null);
  if (bySnps > 0) lines.push(`<b>Warning:</b> ${bySnps} Chunk(s) excluded: < ${opts.minSnps} SNPs (see chunks-excluded.txt for details).`);
  if (byOverlap > 0) lines.push(`<b>Warning:</b> ${byOverlap} Chunk(s) excluded: reference overlap < 50.0% (see chunks-excluded.txt for details).`);
  if (byCallRate > 0) lines.push(`<b>Warning:</b> ${byCallRate} Chunk(s) excluded: at least one sample has a call rate < 50.0% (see chunks-excluded.txt for details).`);
  if (bySnps + byOverlap + byCallRate > 0) lines.push('', `Remaining chunk(s): ${passed.length}`, '');
  let failed = false;
  if (passed.length === 0) {
    lines.push('<b>Error:</b> No chunks passed the QC step. Imputation cannot be started!');
    failed = true;
  } else if (s.strandFlip > opts.maxStrandFlips) {
    lines.push(`<b>Error:</b> More than ${opts.maxStrandFlips} obvious strand flips have been detected. Please check strand. Imputation cannot be started!`);
    failed = true;
  } else if (s.alleleSwitch > opts.maxAlleleSwitches) {
    lines.push(`<b>Error:</b> More than ${opts.maxAlleleSwitches} allele switches have been detected. Imputation cannot be started!`);
    failed = true;
  }
  cmds.push({ kind: failed ? 'error' : 'warning', group: true, text: lines.join('\n') });
  return { commands: cmds, failed, passedChunks: passed };
}

/** The stdout of the QC process, which IS2 publishes verbatim as `qc_report.txt`. */
export function renderCommands(cmds: Command[]): string {
  return cmds
    .map((c) => (c.group ? `::group type=${c.kind}::\n${c.text}\n::endgroup::\n` : `::${c.kind}:: ${c.text}\n`))
    .join('');
}
