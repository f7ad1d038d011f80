/**
 * Follows the gzip member framing of the compressed bytes, without decompressing, to tell
 * `bgzip` output from `gzip` output and to notice a file cut off at a block boundary (which
 * zlib alone accepts silently: every member it saw was complete). Memory: one block header.
 */
import { bgzfBlockSize } from './bgzf';
import { VcfFormatError } from './errors';

const GZIP_FIXED_HEADER = 12; // up to and including XLEN
const BGZF_EMPTY_BLOCK_SIZE = 28;

export type FramingResult = { bgzf: true } | { bgzf: false };

export const MESSAGES = {
  notGzip:
    'This file is not gzip-compressed, so it is not a .vcf.gz file. Imputation servers need the VCF compressed with bgzip: run `bgzip yourfile.vcf` (bgzip comes with htslib/tabix) and upload the resulting yourfile.vcf.gz.',
  plainVcf:
    'This is an uncompressed VCF file. Imputation servers need it compressed with bgzip: run `bgzip yourfile.vcf` (bgzip comes with htslib/tabix) and upload the resulting yourfile.vcf.gz.',
  notBgzf:
    'This file was compressed with gzip, not bgzip. Imputation servers need the blocked gzip format (BGZF) so that the file can be indexed. Recompress it with bgzip instead of gzip: `gunzip yourfile.vcf.gz && bgzip yourfile.vcf` (bgzip comes with htslib/tabix).',
  truncated:
    'The compressed file is truncated or corrupt: it ends in the middle of a compressed block or lacks the end-of-file marker that bgzip writes, usually because an upload or copy was interrupted. Upload the complete file again; `bgzip -t yourfile.vcf.gz` checks a file locally.',
  garbage:
    'The compressed file is corrupt: after a compressed block comes data that is not a gzip block. Recreate the file with `bgzip` and upload it again; `bgzip -t yourfile.vcf.gz` checks a file locally.',
  empty: 'The file is empty (0 bytes). Please upload a bgzipped VCF file.',
} as const;

export class GzipFraming {
  private readonly requireBgzf: boolean;
  /** Header bytes of the block being started (only while `skip === 0`). */
  private header: Buffer = Buffer.alloc(0);
  /** Bytes of the current block still to pass over. */
  private skip = 0;
  private blocks = 0;
  private lastBlockSize = 0;
  private totalBytes = 0;
  /** Once a plain-gzip member is seen (and allowed), framing is zlib's business. */
  private plainGzip = false;

  /** True once the first member header has been checked, i.e. zlib may be fed. */
  get confirmed(): boolean {
    return this.plainGzip || this.blocks > 0;
  }

  constructor(requireBgzf: boolean) {
    this.requireBgzf = requireBgzf;
  }

  /** Throws VcfFormatError as soon as the bytes cannot be a (bgzipped) gzip stream. */
  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    if (this.plainGzip) return;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - offset);
        this.skip -= n;
        offset += n;
        continue;
      }
      // Gather just enough of the header to read BSIZE.
      const need = this.headerNeed();
      const n = Math.min(need - this.header.length, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + n)]);
      offset += n;
      if (this.header.length === this.headerNeed()) this.startBlock();
      if (this.plainGzip) return;
    }
  }

  /** Call at end of input. */
  finish(): FramingResult {
    if (this.totalBytes === 0) throw new VcfFormatError('empty', MESSAGES.empty);
    if (this.plainGzip) return { bgzf: false };
    if (this.header.length > 0) {
      // A few leftover bytes: too short even for a gzip header.
      if (this.blocks === 0) this.checkMagic(this.header);
      throw new VcfFormatError('truncated', MESSAGES.truncated);
    }
    if (this.skip > 0 || this.lastBlockSize !== BGZF_EMPTY_BLOCK_SIZE) {
      throw new VcfFormatError('truncated', MESSAGES.truncated);
    }
    return { bgzf: true };
  }

  private headerNeed(): number {
    if (this.header.length < GZIP_FIXED_HEADER) return GZIP_FIXED_HEADER;
    if (((this.header[3] ?? 0) & 4) === 0) return GZIP_FIXED_HEADER;
    return GZIP_FIXED_HEADER + ((this.header[10] ?? 0) | ((this.header[11] ?? 0) << 8));
  }

  private checkMagic(h: Buffer): void {
    if (h[0] === 0x1f && (h.length < 2 || h[1] === 0x8b)) return;
    if (this.blocks > 0) throw new VcfFormatError('truncated', MESSAGES.garbage);
    const text = h.toString('latin1');
    if (text.startsWith('##fileformat') || text.startsWith('#CHROM') || '##fileformat'.startsWith(text)) {
      throw new VcfFormatError('not_gzip', MESSAGES.plainVcf);
    }
    throw new VcfFormatError('not_gzip', MESSAGES.notGzip);
  }

  private startBlock(): void {
    const h = this.header;
    this.checkMagic(h);
    const size = bgzfBlockSize(h);
    if (size === null) {
      if (this.requireBgzf) throw new VcfFormatError('not_bgzf', MESSAGES.notBgzf);
      this.plainGzip = true;
      return;
    }
    if (size < h.length + 8) throw new VcfFormatError('truncated', MESSAGES.garbage);
    this.blocks += 1;
    this.lastBlockSize = size;
    this.skip = size - h.length;
    this.header = Buffer.alloc(0);
  }
}
