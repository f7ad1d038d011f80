/**
 * Reads VCF lines (already split, already decompressed) and keeps only counters and small sets,
 * so memory does not grow with the number of variants. Data lines are read as bytes: a line of a
 * 100,000-sample file is ~400 KB and splitting it into strings per line would dominate the cost.
 */
import { VcfFormatError } from './errors';
import type { VcfSummary } from './inspect';

const TAB = 9;
const COLON = 58;
const SLASH = 47;
const PIPE = 124;
const HASH = 35;

const FIXED_COLUMNS = ['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'QUAL', 'FILTER', 'INFO'];
/** Cloudgene counts chunks of this size (imputationserver2 `chunksize`). */
const CHUNK_SIZE = 20_000_000;
/** Far above any assembly's contig count (GRCh38 with alts and decoys: ~3,400); keeps memory bounded. */
const MAX_CHROMOSOMES = 50_000;

export class VcfLineParser {
  private fileformat: string | null = null;
  private columns = 0;
  private samples: string[] | null = null;
  private duplicateSamples: string[] = [];
  private readonly chromosomes: string[] = [];
  private readonly seenChromosomes = new Set<string>();
  private readonly chunkIds = new Set<string>();
  private lastChromosome = '';
  private lastPosition = 0;
  private variants = 0;
  private sawGt = false;
  private sawUnphased = false;
  private sameAlleles: VcfSummary['sameAlleles'] = null;
  private unsorted: VcfSummary['unsorted'] = null;
  private lines = 0;

  line(line: Buffer, lineNumber: number): void {
    this.lines = lineNumber;
    if (lineNumber === 1) {
      this.first(line);
      return;
    }
    if (line.length === 0) return;
    if (line[0] === HASH) {
      if (this.samples === null && line.subarray(0, 6).toString('latin1') === '#CHROM') this.header(line, lineNumber);
      return;
    }
    if (this.samples === null) {
      throw new VcfFormatError(
        'no_header',
        `Line ${lineNumber} is a variant line, but no "#CHROM POS ID REF ALT ..." header line came before it. Every VCF needs that header line naming its columns and samples; export the file again with a VCF tool (bcftools, plink --recode vcf) rather than editing it by hand.`,
      );
    }
    this.data(line, lineNumber);
  }

  finish(): VcfSummary {
    if (this.lines === 0) {
      throw new VcfFormatError('empty', 'The file contains no data once decompressed. Please upload a bgzipped VCF file with a header and variants.');
    }
    if (this.samples === null || this.fileformat === null) {
      throw new VcfFormatError(
        'no_header',
        'The file has no "#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT <samples>" header line, so it is not a complete VCF file. Check that you uploaded the right file and that it was not cut short.',
      );
    }
    return {
      bgzf: true,
      fileformat: this.fileformat,
      samples: this.samples,
      chromosomes: this.chromosomes,
      variants: this.variants,
      phased: this.sawUnphased ? false : this.sawGt ? true : null,
      duplicateSamples: this.duplicateSamples,
      chunks: this.chunkIds.size,
      sameAlleles: this.sameAlleles,
      unsorted: this.unsorted,
    };
  }

  private first(line: Buffer): void {
    const text = line.subarray(0, 200).toString('utf8');
    if (text.startsWith('##fileformat=VCF')) {
      this.fileformat = line.toString('utf8').slice('##fileformat='.length).trim();
      return;
    }
    if (text.startsWith('#')) {
      throw new VcfFormatError(
        'no_header',
        'The VCF header must start with a "##fileformat=VCFv4.2" line (or another VCF version), but the first line of this file is different. Export the file again with a VCF tool such as bcftools or plink rather than editing the header by hand.',
      );
    }
    if (line[0] === 0x1f && line[1] === 0x8b) {
      throw new VcfFormatError(
        'no_header',
        'This file was compressed twice: once decompressed, it is still a gzip file. Decompress it once (`gunzip yourfile.vcf.gz`) and check that the result is a plain-text VCF before compressing it with bgzip.',
      );
    }
    throw new VcfFormatError(
      'no_header',
      'This is not a VCF file: its first line should be "##fileformat=VCFv4.2" (or another VCF version). Check that you uploaded the right file; genotype data in other formats (PLINK, 23andMe, ...) must be converted to VCF first, e.g. with `plink --recode vcf` or `bcftools convert`.',
    );
  }

  private header(line: Buffer, lineNumber: number): void {
    const fields = line.toString('utf8').split('\t');
    const fixedOk = FIXED_COLUMNS.every((name, i) => fields[i] === name);
    const formatOk = fields.length === 8 || fields[8] === 'FORMAT';
    if (!fixedOk || !formatOk) {
      throw new VcfFormatError(
        'malformed',
        `The header line (line ${lineNumber}) must be tab-separated and start with "#CHROM POS ID REF ALT QUAL FILTER INFO", then "FORMAT" and one column per sample. Check that the columns are separated by tabs, not spaces.`,
      );
    }
    const samples = fields.slice(9);
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const s of samples) {
      if (seen.has(s) && !dup.has(s)) {
        dup.add(s);
        this.duplicateSamples.push(s);
      }
      seen.add(s);
    }
    this.samples = samples;
    this.columns = fields.length;
  }

  private data(line: Buffer, lineNumber: number): void {
    // Column boundaries of the fixed part: CHROM POS ID REF ALT QUAL FILTER INFO [FORMAT].
    const ends: number[] = [];
    let pos = 0;
    const fixed = Math.min(this.columns, 9);
    while (ends.length < fixed) {
      const t = line.indexOf(TAB, pos);
      const end = t === -1 ? line.length : t;
      ends.push(end);
      pos = end + 1;
      if (t === -1) break;
    }
    let columns = ends.length;
    if ((ends[columns - 1] as number) < line.length) {
      // More columns follow the ones the header promised as fixed.
      columns += columns === 9 ? this.sampleColumns(line, ends[7] as number, ends[8] as number, pos) : countColumns(line, pos);
    }
    if (columns !== this.columns) this.columnMismatch(lineNumber, columns);

    const chromosome = line.toString('utf8', 0, ends[0]);
    const position = parsePosition(line, (ends[0] as number) + 1, ends[1] as number);
    if (position === null) {
      const raw = line.toString('utf8', (ends[0] as number) + 1, Math.min(ends[1] as number, (ends[0] as number) + 41));
      throw new VcfFormatError(
        'malformed',
        `Line ${lineNumber}: the position (column 2) is "${raw}", which is not a whole number. Every variant line must be CHROM, POS, ID, REF, ALT, ... separated by tabs; check the file for shifted or missing columns.`,
      );
    }
    if (chromosome !== this.lastChromosome) {
      if (this.seenChromosomes.has(chromosome)) this.markUnsorted(lineNumber, chromosome, position);
      else {
        if (this.seenChromosomes.size >= MAX_CHROMOSOMES) this.tooManyChromosomes(lineNumber);
        this.seenChromosomes.add(chromosome);
        this.chromosomes.push(chromosome);
      }
    } else if (position < this.lastPosition) {
      this.markUnsorted(lineNumber, chromosome, position);
    }
    this.lastChromosome = chromosome;
    this.lastPosition = position;
    // Cloudgene: chunk = pos / size, minus one when pos is an exact multiple.
    const chunk = Math.floor(position / CHUNK_SIZE) - (position % CHUNK_SIZE === 0 ? 1 : 0);
    if (this.chunkIds.size < 10_000) this.chunkIds.add(`${chromosome}:${chunk}`);

    if (this.sameAlleles === null) {
      const ref = line.subarray((ends[2] as number) + 1, ends[3]);
      const alt = line.subarray((ends[3] as number) + 1, ends[4]);
      if (ref.equals(alt)) {
        this.sameAlleles = {
          line: lineNumber,
          id: line.toString('utf8', (ends[1] as number) + 1, ends[2]),
          ref: ref.toString('utf8'),
          alt: alt.toString('utf8'),
        };
      }
    }
    this.variants += 1;
  }

  /** Counts sample columns and notes GT phasing, without allocating per sample. */
  private sampleColumns(line: Buffer, infoEnd: number, formatEnd: number, start: number): number {
    // The VCF specification requires GT, when present, to be the first FORMAT key.
    const hasGt = line[infoEnd + 1] === 71 && line[infoEnd + 2] === 84 && (infoEnd + 3 === formatEnd || line[infoEnd + 3] === COLON);
    let count = 0;
    let pos = start;
    for (;;) {
      const t = line.indexOf(TAB, pos);
      const end = t === -1 ? line.length : t;
      count += 1;
      if (hasGt) {
        this.sawGt = true;
        for (let j = pos; j < end; j++) {
          const b = line[j];
          if (b === COLON) break;
          if (b === SLASH) {
            this.sawUnphased = true;
            break;
          }
          if (b === PIPE) break;
        }
      }
      if (t === -1) return count;
      pos = t + 1;
    }
  }

  private columnMismatch(lineNumber: number, found: number): never {
    const samples = this.samples?.length ?? 0;
    throw new VcfFormatError(
      'malformed',
      `Line ${lineNumber} has ${found} tab-separated columns, but the header line has ${this.columns} (${Math.min(this.columns, 9)} fixed columns and ${samples} samples). Every variant line needs one value per header column: check that the file was not edited by hand, that columns are separated by tabs, and that it was not joined from files with different samples.`,
    );
  }

  private tooManyChromosomes(lineNumber: number): never {
    throw new VcfFormatError(
      'malformed',
      `Line ${lineNumber} brings the number of different chromosome names (column 1) above ${MAX_CHROMOSOMES}, which no genome has: the columns of this file are probably shifted or it is not a VCF. Imputation needs one file per chromosome.`,
    );
  }

  private markUnsorted(lineNumber: number, chromosome: string, position: number): void {
    if (this.unsorted === null) this.unsorted = { line: lineNumber, chromosome, position };
  }
}

function countColumns(line: Buffer, start: number): number {
  let count = 1;
  for (let t = line.indexOf(TAB, start); t !== -1; t = line.indexOf(TAB, t + 1)) count += 1;
  return count;
}

function parsePosition(line: Buffer, start: number, end: number): number | null {
  if (end <= start || end - start > 15) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = (line[i] as number) - 48;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  return value;
}
