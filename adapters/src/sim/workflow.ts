/**
 * The imputation workflow as the WES and DNAstack simulators run it: input validation, quality
 * control, imputation, export, doing the real work of the Cloudgene simulator's pipeline on the
 * real input (vcf/inspect, cloudgene/simulator qc + imputation), paced by `timing`. The results
 * are plain files whose bytes follow from the input, so tests can compare checksums end to end.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { inspectVcf, validateCohort, VcfFormatError, type VcfSummary } from '../vcf/inspect';
import { imputeFile } from '../cloudgene/simulator/imputation';
import { qcReport, renderCommands, scanInputs, writeChunksExcluded } from '../cloudgene/simulator/qc';
import type { RefPanel } from '../cloudgene/simulator/profiles';

export type StepKey = 'validation' | 'qc' | 'imputation' | 'export';
export type StepState = 'QUEUED' | 'RUNNING' | 'COMPLETE' | 'FAILED' | 'CANCELED';

export interface WorkflowStep {
  key: StepKey;
  /** The process / call name the engine shows, e.g. `INPUT_VALIDATION` or `imputation.validate`. */
  name: string;
  state: StepState;
  startTime: number | null;
  endTime: number | null;
  exitCode: number | null;
  log: string[];
}

export interface SimPanel {
  id: string;
  label: string;
  build: 'hg19' | 'hg38';
  populations: string[];
}

export interface WorkflowParams {
  inputs: { name: string; path: string }[];
  panel: SimPanel;
  population: string;
  build: string;
  phasing: string;
  r2Filter: string;
  mode: string;
}

export interface WorkflowTiming {
  validation: number;
  qc: number;
  imputation: number;
  export: number;
}

export interface WorkflowOutput {
  /** Relative to the output folder, `/`-separated. */
  name: string;
  path: string;
  size: number;
}

/** The workflow's own refusal, with the message its tool printed. */
export class WorkflowFailure extends Error {
  constructor(
    readonly step: StepKey,
    message: string,
  ) {
    super(message);
    this.name = 'WorkflowFailure';
  }
}

export const STEP_KEYS: readonly StepKey[] = ['validation', 'qc', 'imputation', 'export'];

export function createSteps(names: Record<StepKey, string>): WorkflowStep[] {
  return STEP_KEYS.map((key) => ({ key, name: names[key], state: 'QUEUED', startTime: null, endTime: null, exitCode: null, log: [] }));
}

export interface RunWorkflowOptions {
  params: WorkflowParams;
  steps: WorkflowStep[];
  outDir: string;
  tmpDir: string;
  timing: WorkflowTiming;
  signal: AbortSignal;
  now(): number;
  minSamples?: number;
  maxSamples?: number;
  /** Called as each step starts (engines log it: Cromwell's "Call … started"). */
  onStepStart?(step: WorkflowStep): void;
}

const VALID_PHASING = new Set(['eagle', 'beagle', 'no_phasing']);

function refPanel(panel: SimPanel): RefPanel {
  return {
    appId: `${panel.id}@1.0.0`,
    version: '1.0.0',
    propertiesId: panel.id,
    label: panel.label,
    build: panel.build,
    populations: panel.populations.map((id) => ({ id, name: id })),
    minSnps: 3,
  };
}

async function listFiles(root: string): Promise<WorkflowOutput[]> {
  const out: WorkflowOutput[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile()) out.push({ name: relative(root, abs).split(sep).join('/'), path: abs, size: (await stat(abs)).size });
    }
  };
  await walk(root);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Runs the steps in order, updating `steps` as it goes (the simulators serve them as tasks).
 * Resolves with the output files; rejects with a WorkflowFailure when the data is refused, or
 * with the abort reason when `signal` fires.
 */
export async function runWorkflow(o: RunWorkflowOptions): Promise<WorkflowOutput[]> {
  const { params: p, signal, timing } = o;
  const step = (key: StepKey): WorkflowStep => o.steps.find((s) => s.key === key) as WorkflowStep;
  const begin = (key: StepKey, line: string): WorkflowStep => {
    const s = step(key);
    s.state = 'RUNNING';
    s.startTime = o.now();
    s.log.push(line);
    o.onStepStart?.(s);
    return s;
  };
  const end = (s: WorkflowStep, line: string): void => {
    s.state = 'COMPLETE';
    s.exitCode = 0;
    s.endTime = o.now();
    s.log.push(line);
  };
  const fail = (s: WorkflowStep, message: string): WorkflowFailure => {
    s.state = 'FAILED';
    s.exitCode = 1;
    s.endTime = o.now();
    s.log.push(`Error: ${message}`);
    return new WorkflowFailure(s.key, message);
  };
  const pace = (ms: number): Promise<void> => delay(ms, undefined, { signal });

  await mkdir(o.outDir, { recursive: true });
  await mkdir(o.tmpDir, { recursive: true });

  // ---- validation
  let s = begin('validation', `Validating ${p.inputs.length} input file(s)`);
  const vcfs = p.inputs.filter((f) => f.name.endsWith('.vcf.gz')).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (vcfs.length === 0) throw fail(s, 'No VCF files found: inputs must be bgzipped VCFs named *.vcf.gz');
  const summaries: { name: string; summary: VcfSummary }[] = [];
  for (const f of vcfs) {
    try {
      summaries.push({ name: f.name, summary: await inspectVcf(createReadStream(f.path)) });
    } catch (error) {
      if (error instanceof VcfFormatError) throw fail(s, `${f.name}: ${error.message}`);
      throw error;
    }
  }
  await pace(timing.validation);
  const problems = validateCohort(summaries, {
    build: p.build === 'hg38' ? 'hg38' : 'hg19',
    minSamples: o.minSamples ?? 20,
    maxSamples: o.maxSamples ?? 50_000,
    phasing: p.phasing,
  });
  if (problems.length > 0) throw fail(s, problems[0] ?? 'The input is not valid');
  if (!VALID_PHASING.has(p.phasing)) throw fail(s, `Unknown phasing engine '${p.phasing}'; use eagle, beagle or no_phasing`);
  if (p.population !== 'off' && !p.panel.populations.includes(p.population)) {
    throw fail(s, `Population '${p.population}' is not supported by reference panel '${p.panel.id}'.`);
  }
  const samples = summaries[0]?.summary.samples.length ?? 0;
  end(s, `${summaries.length} valid VCF file(s), ${samples} samples, build ${p.build}`);

  // ---- quality control
  s = begin('qc', `Quality control against ${p.panel.id} (${p.panel.build})`);
  const panel = refPanel(p.panel);
  const statsDir = join(o.outDir, 'statistics');
  const scan = await scanInputs(vcfs.map((f) => f.path), panel, statsDir, signal);
  const outcome = qcReport(scan, {
    inputBuild: p.build,
    panel,
    population: p.population,
    minSnps: panel.minSnps,
    maxStrandFlips: 100,
    maxAlleleSwitches: 100,
  });
  await writeChunksExcluded(join(statsDir, 'chunks-excluded.txt'), scan.chunks);
  await writeFile(join(o.outDir, 'qc_report.txt'), renderCommands(outcome.commands));
  await pace(timing.qc);
  if (outcome.failed) {
    const reason = outcome.commands.flatMap((c) => c.text.split('\n')).find((l) => /Error:/.test(l)) ?? 'Quality control failed';
    throw fail(s, reason.replace(/<\/?b>/g, '').replace(/^Error:\s*/, ''));
  }
  end(s, `${outcome.passedChunks.length} chunk(s) passed quality control`);

  // ---- imputation
  s = begin('imputation', p.mode === 'imputation' ? `Imputing ${outcome.passedChunks.length} chunk(s)` : 'Skipped (quality control only)');
  if (p.mode === 'imputation') {
    const passed = new Set(outcome.passedChunks.map((c) => c.key));
    for (const f of vcfs) {
      signal.throwIfAborted();
      const result = await imputeFile(f.path, {
        passedChunks: passed,
        panelBuild: p.panel.build,
        minR2: Number(p.r2Filter) || 0,
        meta: false,
        tmpDir: o.outDir,
        signal,
        now: o.now(),
      });
      if (result) s.log.push(`chr${result.chrom}: ${result.files.map((x) => x.entry).join(', ')}`);
    }
  }
  await pace(timing.imputation);
  end(s, 'Imputation finished');

  // ---- export
  s = begin('export', 'Collecting results');
  await rm(o.tmpDir, { recursive: true, force: true });
  const outputs = await listFiles(o.outDir);
  await pace(timing.export);
  end(s, `${outputs.length} file(s) exported`);
  return outputs;
}
