/**
 * The imputationserver2 workflow as a Cloudgene job sees it: Input Validation → Quality Control →
 * Phasing and Imputation → Summary, with the real checks and real result files, paced by `timing`.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { inspectVcf, VcfFormatError, validateCohort, type VcfSummary } from '../../vcf/inspect';
import { scanInputs, qcReport, renderCommands, writeChunksExcluded, type QcScan, type Command } from './qc';
import { imputeFile, type ChromosomeResult } from './imputation';
import { writeEncryptedZip } from './archive';
import { writeQcHtml, writeAfrigenExtras } from './reports';
import {
  QC, IMPUTATION, SUMMARY, VALIDATION, addMessage, removeMessage, progressBar, failJobMessages,
} from './messages';
import type { Profile, RefPanel } from './profiles';
import { JobState, MessageType, type Job, type JobStateCode, type Timing } from './types';

export interface RunContext {
  job: Job;
  profile: Profile;
  panel: RefPanel;
  timing: Timing;
  signal: AbortSignal;
  now(): number;
  setState(state: JobStateCode): void;
  /** Registers the output folder's files as downloads (the EXPORTING step). */
  exportOutputs(): Promise<void>;
  userMail: string;
  sendMail: boolean;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

const COMMAND_TYPES: Record<Command['kind'], 0 | 1 | 2> = { message: 0, warning: 2, error: 1, log: 0 };

export async function runPipeline(ctx: RunContext): Promise<void> {
  const { job, timing, signal } = ctx;
  const outDir = join(job.dir, 'output');
  const tmpDir = join(job.dir, 'tmp');
  await mkdir(outDir, { recursive: true });
  await mkdir(tmpDir, { recursive: true });

  const fail = async (step: number, message: string | null): Promise<void> => {
    if (message !== null) addMessage(job, step, MessageType.ERROR, message, ctx.now());
    failJobMessages(job, ctx.now());
    job.log.push(`[ERROR] ${message ?? 'Pipeline execution failed.'}`);
    ctx.setState(JobState.EXPORTING);
    await rm(tmpDir, { recursive: true, force: true });
    await ctx.exportOutputs();
    ctx.setState(JobState.FAILED);
  };

  // ---- Input Validation
  const p = job.params;
  let status = addMessage(job, VALIDATION, MessageType.RUNNING, 'Processing data...', ctx.now());
  const vcfs = job.inputs.filter((f) => f.name.endsWith('.vcf.gz')).sort((a, b) => (a.name < b.name ? -1 : 1));
  const statsTmp = join(tmpDir, 'statistics');
  const work = (async () => {
    const summaries: { name: string; summary: VcfSummary }[] = [];
    for (const f of vcfs) summaries.push({ name: f.name, summary: await inspectVcf(createReadStream(f.path)) });
    return summaries;
  })();
  // UTILS computes chunks during validation; the scan is kept for the QC step.
  const scanning = scanInputs(vcfs.map((f) => f.path), ctx.panel, statsTmp, signal).catch(() => null);
  await sleep(timing.validation, signal);
  let summaries: { name: string; summary: VcfSummary }[];
  try {
    summaries = await work;
  } catch (err) {
    await scanning;
    removeMessage(job, status);
    if (err instanceof VcfFormatError) return fail(VALIDATION, err.message);
    throw err;
  }
  const scan: QcScan | null = await scanning;
  signal.throwIfAborted();
  removeMessage(job, status);
  if (p.population === null || p.population === '') {
    return fail(VALIDATION, "Expected parameter for option '--population' but found '--phasing'");
  }
  const problems = validateCohort(summaries, {
    build: p.build === 'hg38' ? 'hg38' : 'hg19',
    minSamples: ctx.profile.minSamples,
    maxSamples: ctx.profile.maxSamples,
    phasing: p.phasing,
  });
  if (problems.length > 0) return fail(VALIDATION, problems[0] ?? null);
  if (!['eagle', 'beagle', 'no_phasing'].includes(p.phasing)) return fail(VALIDATION, null);
  if (!ctx.panel.populations.some((x) => x.id === p.population)) {
    return fail(VALIDATION, `Population '${p.population}' is not supported by reference panel '${ctx.panel.propertiesId}'.`);
  }
  if (scan === null) return fail(VALIDATION, 'The provided VCF file is malformed.');
  const chromosomes = summaries.flatMap((s) => s.summary.chromosomes);
  const variants = summaries.reduce((n, s) => n + s.summary.variants, 0);
  const phased = summaries.every((s) => s.summary.phased !== false);
  addMessage(
    job,
    VALIDATION,
    MessageType.OK,
    `${summaries.length} valid VCF file(s) found.\n\nSamples: ${summaries[0]?.summary.samples.length ?? 0}\n` +
      `Chromosomes: ${chromosomes.join(' ')}\nSNPs: ${variants}\nChunks: ${scan.chunks.length}\n` +
      `Datatype: ${phased ? 'phased' : 'unphased'}\nBuild: ${p.build}\n` +
      `Reference Panel: ${ctx.panel.propertiesId} (${ctx.panel.build})\nPopulation: ${p.population}\n` +
      `Phasing: ${p.phasing}\nMode: ${p.mode}`,
    ctx.now(),
  );

  // ---- Quality Control
  status = addMessage(job, QC, MessageType.RUNNING, 'Processing data...', ctx.now());
  const outcome = qcReport(scan, {
    inputBuild: p.build,
    panel: ctx.panel,
    population: p.population,
    minSnps: ctx.panel.minSnps,
    maxStrandFlips: ctx.profile.maxStrandFlips,
    maxAlleleSwitches: ctx.profile.maxAlleleSwitches,
  });
  const statsDir = join(outDir, 'statistics');
  await rm(statsDir, { recursive: true, force: true });
  await rename(statsTmp, statsDir);
  await writeChunksExcluded(join(statsDir, 'chunks-excluded.txt'), scan.chunks);
  await writeFile(join(outDir, 'qc_report.txt'), renderCommands(outcome.commands));
  if (ctx.profile.extraQcOutputs) await writeAfrigenExtras(outDir, scan, outcome);
  await sleep(timing.qc, signal);
  removeMessage(job, status);
  for (const c of outcome.commands) {
    if (c.kind !== 'log') addMessage(job, QC, COMMAND_TYPES[c.kind], c.text.replace(/\n+$/, ''), ctx.now());
  }
  await writeQcHtml(join(outDir, 'quality-control.html'), job, scan, outcome);
  addMessage(job, QC, MessageType.OK, 'Quality Control Report', ctx.now());
  if (outcome.failed) return fail(QC, null);

  let results: ChromosomeResult[] = [];
  if (p.mode === 'imputation') {
    const n = outcome.passedChunks.length;
    // ---- Phasing and Imputation
    if (!phased && (p.phasing === 'eagle' || p.phasing === 'beagle')) {
      await progress(ctx, IMPUTATION, p.phasing === 'eagle' ? 'Phasing with Eagle' : 'Phasing with Beagle', n, timing.phasing, Promise.resolve());
    }
    const passed = new Set(outcome.passedChunks.map((c) => c.key));
    const imputing = (async () => {
      const out: ChromosomeResult[] = [];
      for (const f of vcfs) {
        const r = await imputeFile(f.path, {
          passedChunks: passed,
          panelBuild: ctx.panel.build,
          minR2: Number(p.r2Filter) || 0,
          meta: p.meta,
          tmpDir,
          signal,
          now: ctx.now(),
        });
        if (r) out.push(r);
      }
      return out;
    })();
    await progress(ctx, IMPUTATION, 'Imputation', n, timing.imputation, imputing);
    results = await imputing;

    // ---- Summary: compression and encryption
    const zipping = (async () => {
      for (const r of results) {
        signal.throwIfAborted();
        await writeEncryptedZip(join(outDir, `chr_${r.chrom}.zip`), r.files, job.password, p.aesEncryption);
      }
    })();
    await progress(ctx, SUMMARY, 'Compression and Encryption', results.length, timing.compression, zipping);
  }
  await rm(tmpDir, { recursive: true, force: true });

  ctx.setState(JobState.EXPORTING);
  await ctx.exportOutputs();
  await sleep(timing.export, signal);
  const final = ctx.sendMail
    ? `Data have been exported successfully. We have sent a notification email to <b>${ctx.userMail}</b>`
    : `Data have been exported successfully. We encrypted the results with the following password: <b>${job.password}</b>`;
  addMessage(job, SUMMARY, MessageType.OK, final, ctx.now());
  job.log.push('[INFO] Job finished successfully.');
  ctx.setState(JobState.SUCCESS);
}

/** A `view: progressbar` process: (k/n) advances with time, and completes only when `work` is done. */
async function progress(ctx: RunContext, step: number, label: string, n: number, totalMs: number, work: Promise<unknown>): Promise<void> {
  const msg = addMessage(ctx.job, step, MessageType.RUNNING, progressBar(label, 0, n), ctx.now());
  let failure: unknown = null;
  work.catch((e: unknown) => {
    failure = e;
  });
  for (let k = 1; k < n; k++) {
    await sleep(totalMs / Math.max(n, 1), ctx.signal);
    if (failure !== null) break;
    msg.message = progressBar(label, k, n);
    msg.time = ctx.now();
  }
  await sleep(n <= 1 ? totalMs : totalMs / n, ctx.signal);
  await work;
  msg.message = progressBar(label, n, n);
  msg.type = MessageType.OK;
  msg.time = ctx.now();
}
