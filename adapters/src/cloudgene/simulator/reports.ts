/** Human-facing QC outputs: `quality-control.html` and the AfriGen-D fork's extra summaries. */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { TextSink } from './sink';
import type { ChunkStat, QcOutcome, QcScan } from './qc';
import type { Job } from './types';

export async function writeQcHtml(path: string, job: Job, scan: QcScan, outcome: QcOutcome): Promise<void> {
  const s = scan.stats;
  const rows = Object.entries(s)
    .map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`)
    .join('\n');
  const chunks = scan.chunks
    .map((c) => `<tr><td>${c.key}</td><td>${c.inPanel}</td><td>${c.snps}</td><td>${c.excluded ?? 'passed'}</td></tr>`)
    .join('\n');
  await writeFile(
    path,
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Quality Control Report - ${job.name}</title></head>\n<body>\n` +
      `<h1>Quality Control Report</h1>\n<p>Job: ${job.id}</p>\n<p>Samples: ${scan.samples}</p>\n` +
      `<p>Chromosomes: ${scan.chromosomes.join(' ')}</p>\n<h2>Statistics</h2>\n<table>\n${rows}\n</table>\n` +
      `<h2>Chunks</h2>\n<table>\n<tr><th>Chunk</th><th>SNPs in reference</th><th>SNPs</th><th>Status</th></tr>\n${chunks}\n</table>\n` +
      `<p>${outcome.failed ? 'QC failed.' : `Remaining chunk(s): ${outcome.passedChunks.length}`}</p>\n</body></html>\n`,
  );
}

const status = (c: ChunkStat): string => (c.excluded === null ? 'PASS' : `EXCLUDED (${c.excluded})`);

/** AFIS2 publishes these next to qc_report.txt; the numbers are the same QC numbers. */
export async function writeAfrigenExtras(outDir: string, scan: QcScan, outcome: QcOutcome): Promise<void> {
  const s = scan.stats;
  const remaining = s.match + s.typedOnly;
  await writeFile(
    join(outDir, 'qc_output.txt'),
    [
      `samples\t${scan.samples}`,
      `chromosomes\t${scan.chromosomes.join(',')}`,
      `sites_total\t${s.total}`,
      `sites_match\t${s.match}`,
      `sites_typed_only\t${s.typedOnly}`,
      `sites_excluded\t${s.total - remaining}`,
      `reference_overlap\t${remaining === 0 ? '0.0000' : (s.match / remaining).toFixed(4)}`,
      `chunks_total\t${scan.chunks.length}`,
      `chunks_passed\t${outcome.passedChunks.length}`,
      `qc_status\t${outcome.failed ? 'FAILED' : 'PASSED'}`,
    ].join('\n') + '\n',
  );
  const chunks = new TextSink(join(outDir, 'chunks_summary.txt'));
  await chunks.write('chunk\tchromosome\tstart\tend\tsnps\tsnps_in_reference\toverlap\tlow_call_rate_samples\tstatus\n');
  for (const c of scan.chunks) {
    const overlap = c.snps === 0 ? 0 : c.inPanel / c.snps;
    await chunks.write(`${c.key}\t${c.chrom}\t${c.start}\t${c.end}\t${c.snps}\t${c.inPanel}\t${overlap.toFixed(4)}\t${c.lowSampleCallRates}\t${status(c)}\n`);
  }
  await chunks.close();
  await writeFile(
    join(outDir, 'af_summary.txt'),
    `metric\tcount\nalt_af_gt_0.5\t${s.altAfAboveHalf}\nmonomorphic\t${s.monomorphic}\nallele_mismatch\t${s.alleleMismatch}\n` +
      `allele_switch\t${s.alleleSwitch}\nstrand_flip\t${s.strandFlip}\n`,
  );
}
