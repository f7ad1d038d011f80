/**
 * Comparing two runs of the same inputs: the QC report's figures side by side, and the
 * distribution of imputation quality (r², Minimac's `Rsq` column or the `R2` INFO field of
 * `chrN.info.gz`) per chromosome. Pure functions; the streaming lives in $lib/server/r2.
 */

/** `Label: 1,234` / `Reference Overlap: 98.50 %` lines of a QC report, as numbers by label. */
export function qcFigures(report: string): Map<string, number> {
  const figures = new Map<string, number>();
  for (const raw of report.split(/\r?\n/)) {
    const line = raw.replace(/<[^>]*>/g, '').trim();
    const m = /^([A-Za-z][A-Za-z0-9 /,.<>%()#+-]*?):\s*(-?[\d,]+(?:\.\d+)?)\s*(%?)$/.exec(line);
    if (!m) continue;
    const n = Number(m[2]!.replace(/,/g, ''));
    if (Number.isFinite(n)) figures.set(m[1]!.trim() + (m[3] ? ' (%)' : ''), n);
  }
  return figures;
}

export interface QcRow {
  label: string;
  a: number | null;
  b: number | null;
}

export function compareFigures(a: Map<string, number>, b: Map<string, number>): QcRow[] {
  const labels = [...new Set([...a.keys(), ...b.keys()])];
  return labels.map((label) => ({ label, a: a.get(label) ?? null, b: b.get(label) ?? null }));
}

/** Ten bins of r²: [0, 0.1), [0.1, 0.2), … [0.9, 1.0]. */
export const R2_BINS = 10;

export interface R2Histogram {
  chromosome: string;
  bins: number[];
  count: number;
  mean: number | null;
  /** Share of variants with r² ≥ 0.3 (a usual filter). */
  aboveThreshold: number | null;
  /** True when the file was longer than the portal reads. */
  truncated: boolean;
}

export function emptyHistogram(chromosome: string): R2Histogram {
  return { chromosome, bins: new Array<number>(R2_BINS).fill(0), count: 0, mean: null, aboveThreshold: null, truncated: false };
}

/** Reads lines of an info file: a Minimac `SNP\t…\tRsq\t…` table or VCF lines with `R2=` in INFO. */
export class R2Reader {
  private rsqColumn = -1;
  private sum = 0;
  private above = 0;
  readonly histogram: R2Histogram;

  constructor(chromosome: string) {
    this.histogram = emptyHistogram(chromosome);
  }

  line(line: string): void {
    if (line === '') return;
    if (line.startsWith('##')) return;
    if (line.startsWith('SNP\t') || line.startsWith('#CHROM')) {
      this.rsqColumn = line.split('\t').findIndex((c) => c === 'Rsq' || c === 'R2');
      return;
    }
    let r2: number;
    if (this.rsqColumn >= 0) {
      r2 = Number(line.split('\t', this.rsqColumn + 1)[this.rsqColumn]);
    } else {
      const m = /(?:^|[\t;])R2=([0-9.eE+-]+)/.exec(line);
      if (!m) return;
      r2 = Number(m[1]);
    }
    if (!Number.isFinite(r2) || r2 < 0) return;
    const v = Math.min(1, r2);
    this.histogram.bins[Math.min(R2_BINS - 1, Math.floor(v * R2_BINS))]! += 1;
    this.histogram.count += 1;
    this.sum += v;
    if (v >= 0.3) this.above += 1;
  }

  finish(truncated = false): R2Histogram {
    const h = this.histogram;
    h.mean = h.count ? this.sum / h.count : null;
    h.aboveThreshold = h.count ? this.above / h.count : null;
    h.truncated = truncated;
    return h;
  }
}

/** `chr20.info.gz` → `20`; null for other names. */
export function infoChromosome(name: string): string | null {
  const m = /(?:^|\/)chr_?([0-9]{1,2}|X|Y|MT?)\.info\.gz$/i.exec(name);
  return m ? m[1]!.toUpperCase() : null;
}
