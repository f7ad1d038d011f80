/**
 * Streaming inspection of a bgzipped VCF, and the Cloudgene/imputationserver-utils validation
 * rules with their literal messages. Used by the Cloudgene simulator (validation step) and by the
 * broker's pre-flight.
 *
 * One pass, flat memory: the compressed bytes go through a framing check (bgzip vs gzip,
 * truncation) and zlib; the text is split into lines of bounded length and only counters and
 * the sample list are kept.
 */
import { Writable, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { VcfFormatError } from './errors';
import { GzipFraming, MESSAGES } from './gzip-framing';
import { LineSplitter, LineTooLongError } from './lines';
import { VcfLineParser } from './parser';

export { VcfFormatError } from './errors';
export { validateCohort, buildFromChromosomeNames, CLOUDGENE_VALID_CHROMOSOMES } from './cohort';
export type { CohortRules } from './cohort';

export interface VcfSummary {
  /** True when every gzip member carries the BGZF `BC` extra field (i.e. `bgzip`, not `gzip`). */
  bgzf: boolean;
  /** `##fileformat=` value, e.g. `VCFv4.2`. */
  fileformat: string;
  samples: string[];
  /** Distinct CHROM values, in order of first appearance. */
  chromosomes: string[];
  variants: number;
  /** True when all GT calls seen are phased (`|`), false when any is unphased, null when no GT. */
  phased: boolean | null;
  /** Sample ids that occur more than once in the header. */
  duplicateSamples: string[];
  /** Distinct 20 Mb chunks with variants (Cloudgene's "Chunks:" count). Absent = not computed. */
  chunks?: number;
  /** First variant whose REF equals its ALT (Cloudgene rejects the file for it). */
  sameAlleles?: { line: number; id: string; ref: string; alt: string } | null;
  /** First variant out of order (position decreases, or a chromosome comes back): tabix fails. */
  unsorted?: { line: number; chromosome: string; position: number } | null;
}

export interface InspectOptions {
  /** Longest line accepted, in bytes (default 32 MiB, enough for ~8 million samples). */
  maxLineBytes?: number;
  /** Default true. When false, plain gzip is accepted and reported as `bgzf: false`. */
  requireBgzf?: boolean;
}

export const DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024;

/**
 * A Writable that inspects whatever is written to it, for use beside other consumers of the same
 * bytes (hashing, storing) in one pass. `result` settles once the stream has finished.
 *
 * A bad file does not make the Writable emit 'error': it rejects `result` at once and then
 * silently discards the rest, so a tee that also stores the bytes is never torn down by the
 * inspector. Whoever reads `result` decides whether to abort the upload.
 */
export function createVcfInspector(options: InspectOptions = {}): { stream: Writable; result: Promise<VcfSummary> } {
  const requireBgzf = options.requireBgzf ?? true;
  const framing = new GzipFraming(requireBgzf);
  const parser = new VcfLineParser();
  const lines = new LineSplitter(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, (line, n) => parser.line(line, n));
  const gunzip = zlib.createGunzip();

  const held: Buffer[] = [];
  let failed = false;
  let ended = false;
  let settle: { resolve: (s: VcfSummary) => void; reject: (e: unknown) => void } | undefined;
  const result = new Promise<VcfSummary>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Handled here so that an early failure is not an unhandled rejection before the caller awaits.
  result.catch(() => undefined);

  /** Write callback held back while zlib applies backpressure. */
  let waiting: (() => void) | null = null;
  const release = (): void => {
    const cb = waiting;
    waiting = null;
    cb?.();
  };

  const fail = (error: unknown): void => {
    if (failed) return;
    failed = true;
    settle?.reject(translate(error, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES));
    gunzip.removeAllListeners('data');
    gunzip.on('error', () => undefined);
    gunzip.destroy();
    release();
  };

  gunzip.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      lines.push(chunk);
    } catch (error) {
      fail(error);
    }
  });
  gunzip.on('error', fail);
  gunzip.on('drain', release);

  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (failed) return callback();
      try {
        framing.push(chunk);
      } catch (error) {
        fail(error);
        return callback();
      }
      // Until the first header is known to be gzip, zlib would only produce a vaguer error.
      if (!framing.confirmed) {
        held.push(chunk);
        return callback();
      }
      const data = held.length > 0 ? Buffer.concat([...held.splice(0), chunk]) : chunk;
      if (gunzip.write(data)) return callback();
      waiting = callback;
    },
    final(callback) {
      ended = true;
      callback(); // the caller's stream is done either way; the verdict goes to `result`
      if (failed) return;
      let bgzf: boolean;
      try {
        bgzf = framing.finish().bgzf;
      } catch (error) {
        fail(error);
        return;
      }
      gunzip.once('end', () => {
        if (failed) return;
        try {
          lines.end();
          settle?.resolve({ ...parser.finish(), bgzf });
        } catch (error) {
          fail(error);
        }
      });
      gunzip.end();
    },
    destroy(error, callback) {
      // autoDestroy also lands here after a normal end; only an early destroy is an abort, and
      // `result` must settle then too, or whoever awaits it would wait forever.
      if (error) fail(error);
      else if (!ended) fail(new Error('VCF inspection aborted: the stream was destroyed before its end.'));
      callback(error);
    },
  });
  return { stream, result };
}

/** Reads the whole stream once, never holding it in memory. Rejects with VcfFormatError. */
export async function inspectVcf(input: Readable, options: InspectOptions = {}): Promise<VcfSummary> {
  const { stream, result } = createVcfInspector(options);
  const inputError = new Promise<never>((_resolve, reject) => {
    input.once('error', reject);
  });
  inputError.catch(() => undefined);
  input.pipe(stream);
  try {
    return await Promise.race([result, inputError]);
  } finally {
    // On early rejection there is no point reading the rest of a 10 GB file.
    input.unpipe(stream);
    if (!input.readableEnded) input.destroy();
  }
}

function translate(error: unknown, maxLineBytes: number): unknown {
  if (error instanceof VcfFormatError) return error;
  if (error instanceof LineTooLongError) {
    const mib = Math.round(maxLineBytes / (1024 * 1024));
    const size = mib >= 1 ? `${mib} MB` : `${maxLineBytes} bytes`;
    return new VcfFormatError(
      'malformed',
      `Line ${error.lineNumber} is longer than ${size}, so this is either not a text VCF file or has a broken line. Check that you uploaded the right file and that its lines end with newlines.`,
    );
  }
  // zlib's own complaints ("unexpected end of file", "invalid block type", "incorrect header check").
  // (Only zlib's: an I/O error from the caller's source is not the file's fault and stays as is.)
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('Z_')) {
    return new VcfFormatError('truncated', MESSAGES.truncated);
  }
  return error;
}
