import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bgzipBuffer } from './bgzf';
import { buildFromChromosomeNames, inspectVcf, validateCohort, type CohortRules, type VcfSummary } from './inspect';

const hg19: CohortRules = { build: 'hg19', minSamples: 20, maxSamples: 50000 };
const hg38: CohortRules = { ...hg19, build: 'hg38' };

function summary(over: Partial<VcfSummary> = {}): VcfSummary {
  return {
    bgzf: true,
    fileformat: 'VCFv4.2',
    samples: Array.from({ length: 60 }, (_, i) => `S${i}`),
    chromosomes: ['20'],
    variants: 100,
    phased: false,
    duplicateSamples: [],
    ...over,
  };
}

const one = (s: VcfSummary, rules = hg19): string[] => validateCohort([{ name: 'chr.vcf.gz', summary: s }], rules);

describe('validateCohort (Cloudgene literal messages)', () => {
  it('accepts a valid cohort', () => {
    const files = ['20', '21', '22'].map((c) => ({ name: `chr${c}.vcf.gz`, summary: summary({ chromosomes: [c] }) }));
    expect(validateCohort(files, hg19)).toEqual([]);
    const files38 = ['chr20', 'chrX'].map((c) => ({ name: `${c}.vcf.gz`, summary: summary({ chromosomes: [c] }) }));
    expect(validateCohort(files38, hg38)).toEqual([]);
  });

  it('19 samples', () => {
    expect(one(summary({ samples: Array.from({ length: 19 }, (_, i) => `S${i}`) }))).toEqual([
      'At least 20 samples must be uploaded.',
    ]);
  });

  it('a VCF without samples', () => {
    expect(one(summary({ samples: [], phased: null }))).toEqual(['At least 20 samples must be uploaded.']);
  });

  it('too many samples, with the contact from the server settings', () => {
    const rules = { ...hg19, maxSamples: 50, contactName: 'Help Desk', contactEmail: 'help@example.org' };
    expect(one(summary(), rules)).toEqual([
      'The maximum number of samples is 50. Please contact Help Desk (<a href="help@example.org">help@example.org</a>) to discuss this large imputation.',
    ]);
  });

  it('more than one chromosome in a file', () => {
    expect(one(summary({ chromosomes: ['20', '21'] }))).toEqual([
      'The provided VCF file contains more than one chromosome. Please split your input VCF file by chromosome',
    ]);
  });

  it('chr prefix in hg19, and no prefix in hg38', () => {
    expect(one(summary({ chromosomes: ['chr20'] }))).toEqual([
      "Your upload data contains chromosome 'chr20'. This is not a valid hg19 encoding. Please ensure that your input data is build hg19 and chromosome is encoded as '20'.",
    ]);
    expect(one(summary({ chromosomes: ['20'] }), hg38)).toEqual([
      "Your upload data contains chromosome '20'. This is not a valid hg38 encoding. Please ensure that your input data is build hg38 and chromosome is encoded as 'chr20'.",
    ]);
  });

  it('invalid chromosomes, named as Cloudgene names them (without "chr")', () => {
    expect(one(summary({ chromosomes: ['Y'] }))).toEqual(['Invalid chromosome found: Y']);
    expect(one(summary({ chromosomes: ['chrM'] }), hg38)).toEqual(['Invalid chromosome found: M']);
    expect(one(summary({ chromosomes: ['chr6_GL000250v2_alt'] }), hg38)).toEqual([
      'Invalid chromosome found: 6_GL000250v2_alt',
    ]);
  });

  it('different sample counts across files, reported in file-name order', () => {
    const files = [
      { name: 'b.vcf.gz', summary: summary({ chromosomes: ['21'], samples: Array.from({ length: 25 }, (_, i) => `S${i}`) }) },
      { name: 'a.vcf.gz', summary: summary({ chromosomes: ['20'] }) },
    ];
    expect(validateCohort(files, hg19)).toEqual([
      'Please double check, if all uploaded VCF files include the same amount of samples (25 vs 60)',
    ]);
  });

  it('duplicate sample ids', () => {
    expect(one(summary({ duplicateSamples: ['S7', 'S9'] }))).toEqual(['Two individuals or more have the following ID: S7']);
  });

  it('REF equal to ALT', () => {
    expect(one(summary({ sameAlleles: { line: 9, id: 'rs1', ref: 'A', alt: 'A' } }))).toEqual([
      'The provided VCF file is malformed at variation rs1: reference allele (A) and alternate allele  (A) are the same.',
    ]);
  });

  it('unsorted files fail like tabix indexing does', () => {
    const [message] = one(summary({ unsorted: { line: 9, chromosome: '20', position: 5 } }));
    expect(message).toMatch(/^The provided VCF file is malformed. Error during index creation: /);
  });

  it('a header-only file', () => {
    expect(one(summary({ variants: 0, chromosomes: [] }))).toEqual([
      'No genotypes found in the VCF file. It appears the file contains only the header.',
    ]);
  });

  it('no files', () => {
    expect(validateCohort([], hg19)).toEqual([
      'The provided files are not VCF files (see <a href="/start.html#!pages/help">Help</a>).',
    ]);
  });

  it('unphased data without a phasing engine, only when the phasing parameter is given', () => {
    expect(one(summary(), { ...hg19, phasing: 'no_phasing' })).toEqual([
      'Your input data is unphased. Please select an algorithm for phasing.',
    ]);
    expect(one(summary(), { ...hg19, phasing: 'eagle' })).toEqual([]);
    expect(one(summary({ phased: true }), { ...hg19, phasing: 'no_phasing' })).toEqual([]);
  });

  it('works on summaries from real files', async () => {
    const samples = Array.from({ length: 19 }, (_, i) => `P${i}`);
    const text = `##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t${samples.join('\t')}\n20\t5\t.\tA\tC\t.\t.\t.\tGT\t${samples.map(() => '0/1').join('\t')}\n`;
    const s = await inspectVcf(Readable.from([await bgzipBuffer(text)]));
    expect(validateCohort([{ name: 'x.vcf.gz', summary: s }], hg19)).toEqual(['At least 20 samples must be uploaded.']);
  });
});

describe('buildFromChromosomeNames', () => {
  it('guesses the build from the naming style', () => {
    expect(buildFromChromosomeNames(['20', '21'])).toBe('hg19');
    expect(buildFromChromosomeNames(['chr20'])).toBe('hg38');
    expect(buildFromChromosomeNames(['chr20', '21'])).toBe('mixed');
    expect(buildFromChromosomeNames([])).toBeNull();
  });
});
