/**
 * Cloudgene's input validation (imputationserver-utils `InputValidationCommand` and
 * `VcfFileUtil.load`) applied to already inspected files, with its literal messages, so that the
 * simulator fails exactly where a real server would and the broker can warn before uploading.
 *
 * Cloudgene stops at the first problem, so the result holds at most one message; it checks files
 * in name order, each file's own problems first, then the cross-file and build rules.
 */
import type { VcfSummary } from './inspect';

export interface CohortRules {
  build: 'hg19' | 'hg38';
  minSamples: number;
  maxSamples: number;
  /** The `phasing` job parameter; when given, unphased data with `no_phasing` (or '') is refused. */
  phasing?: string;
  /** Interpolated into the max-samples message, as the server's `contactName`/`contactEmail`. */
  contactName?: string;
  contactEmail?: string;
}

/** `VcfFileUtil.validChromosomes`, after Cloudgene has removed every "chr" from the name. */
export const CLOUDGENE_VALID_CHROMOSOMES: ReadonlySet<string> = new Set([
  ...Array.from({ length: 23 }, (_, i) => String(i + 1)),
  'X',
  'MT',
]);

const NOT_VCF = 'The provided files are not VCF files (see <a href="/start.html#!pages/help">Help</a>).';
const MORE_THAN_ONE =
  'The provided VCF file contains more than one chromosome. Please split your input VCF file by chromosome';
const HEADER_ONLY = 'No genotypes found in the VCF file. It appears the file contains only the header.';
const UNPHASED = 'Your input data is unphased. Please select an algorithm for phasing.';

/** Java's `replaceAll("chr", "")`, which Cloudgene applies to every CHROM value. */
const stripChr = (chromosome: string): string => chromosome.replaceAll('chr', '');

/** Per-file checks of `VcfFileUtil.load` (which throws; the command reports the message). */
function loadProblem(summary: VcfSummary): string | null {
  const duplicate = summary.duplicateSamples[0];
  if (duplicate !== undefined) return `Two individuals or more have the following ID: ${duplicate}`;
  if (new Set(summary.chromosomes.map(stripChr)).size > 1) return MORE_THAN_ONE;
  const same = summary.sameAlleles;
  if (same) {
    return `The provided VCF file is malformed at variation ${same.id}: reference allele (${same.ref}) and alternate allele  (${same.alt}) are the same.`;
  }
  if (summary.unsorted) {
    // Cloudgene appends htsjdk's index-creation exception; its exact text is not reproduced.
    return `The provided VCF file is malformed. Error during index creation: Input file is not sorted by start position (line ${summary.unsorted.line}: ${summary.unsorted.chromosome}:${summary.unsorted.position}).`;
  }
  if (summary.variants === 0 || summary.chromosomes.length === 0) return HEADER_ONLY;
  return null;
}

/** Cloudgene's validation of a set of files, returning its literal error messages (empty = valid). */
export function validateCohort(files: { name: string; summary: VcfSummary }[], rules: CohortRules): string[] {
  // Java's Collections.sort on strings: UTF-16 code unit order, as JavaScript's < is.
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let noSamples = 0;
  let phased = true;
  for (const { summary } of sorted) {
    const problem = loadProblem(summary);
    if (problem !== null) return [problem];
    const raw = summary.chromosomes[0] as string;
    const chromosome = stripChr(raw);
    const isMt = chromosome === 'MT';
    if (!CLOUDGENE_VALID_CHROMOSOMES.has(chromosome)) return [`Invalid chromosome found: ${chromosome}`];
    const samples = summary.samples.length;
    if (noSamples !== 0 && noSamples !== samples) {
      return [`Please double check, if all uploaded VCF files include the same amount of samples (${samples} vs ${noSamples})`];
    }
    noSamples = samples;
    // Cloudgene calls a file phased when no genotype contains "/"; mitochondria always are.
    phased = phased && (isMt || summary.phased !== false);
    if (noSamples < rules.minSamples && rules.minSamples !== 0) {
      return [`At least ${rules.minSamples} samples must be uploaded.`];
    }
    if (noSamples > rules.maxSamples && rules.maxSamples !== 0) {
      const name = rules.contactName ?? 'n/a';
      const email = rules.contactEmail ?? 'n/a';
      return [
        `The maximum number of samples is ${rules.maxSamples}. Please contact ${name} (<a href="${email}">${email}</a>) to discuss this large imputation.`,
      ];
    }
    const hasChrPrefix = summary.chromosomes.some((c) => c.startsWith('chr'));
    if (rules.build === 'hg19' && hasChrPrefix) {
      return [
        `Your upload data contains chromosome '${raw}'. This is not a valid hg19 encoding. Please ensure that your input data is build hg19 and chromosome is encoded as '${chromosome}'.`,
      ];
    }
    if (rules.build === 'hg38' && !hasChrPrefix) {
      return [
        `Your upload data contains chromosome '${raw}'. This is not a valid hg38 encoding. Please ensure that your input data is build hg38 and chromosome is encoded as 'chr${chromosome}'.`,
      ];
    }
  }
  if (sorted.length === 0) return [NOT_VCF];
  if (!phased && rules.phasing !== undefined && (rules.phasing === '' || rules.phasing === 'no_phasing')) {
    return [UNPHASED];
  }
  return [];
}

/**
 * Which build a set of CHROM names suggests, by Cloudgene's convention (hg19 `20`, hg38 `chr20`):
 * for hints in a form, never a verdict. `mixed` when both styles occur, null when there are none.
 */
export function buildFromChromosomeNames(chromosomes: Iterable<string>): 'hg19' | 'hg38' | 'mixed' | null {
  let prefixed = 0;
  let bare = 0;
  for (const c of chromosomes) {
    if (c.startsWith('chr')) prefixed += 1;
    else bare += 1;
  }
  if (prefixed > 0 && bare > 0) return 'mixed';
  if (prefixed > 0) return 'hg38';
  if (bare > 0) return 'hg19';
  return null;
}
