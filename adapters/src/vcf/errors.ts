/** A file that is not a readable bgzipped VCF. `message` is written for the person who uploaded it. */
export class VcfFormatError extends Error {
  readonly code: 'not_gzip' | 'not_bgzf' | 'truncated' | 'no_header' | 'malformed' | 'empty';
  constructor(code: VcfFormatError['code'], message: string) {
    super(message);
    this.name = 'VcfFormatError';
    this.code = code;
  }
}
