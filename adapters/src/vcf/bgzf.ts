/**
 * BGZF (blocked gzip, what `bgzip` writes): a series of independent gzip members of at most
 * 64 KiB each, whose header carries a `BC` extra subfield with the member's size, followed by
 * a fixed 28-byte empty member as end-of-file marker. Tabix/htslib need this layout; a file
 * from plain `gzip` decompresses to the same text but cannot be indexed, which is why
 * imputation servers insist on it.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflateRaw = promisify(zlib.deflateRaw);

/** The end-of-file marker block from the SAM/BAM specification (section 4.1.2). */
export const BGZF_EOF: Buffer = Buffer.from('1f8b08040000000000ff0600424302001b0003000000000000000000', 'hex');

/**
 * Uncompressed bytes per block. htslib uses 0xff00 rather than 0x10000 so that even
 * incompressible input (stored deflate blocks add a few bytes) still fits the 16-bit BSIZE.
 */
export const BGZF_BLOCK_INPUT = 0xff00;

const HEADER_LENGTH = 18;
const TRAILER_LENGTH = 8;

/**
 * The total size of the BGZF block starting at `buf[0]` (BSIZE + 1), or null when the bytes
 * are not the start of a gzip member with a `BC` subfield. Needs the whole extra field in `buf`.
 */
export function bgzfBlockSize(buf: Uint8Array): number | null {
  if (buf.length < 12 || buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) return null;
  if (((buf[3] ?? 0) & 4) === 0) return null; // FEXTRA not set: plain gzip
  const xlen = (buf[10] ?? 0) | ((buf[11] ?? 0) << 8);
  if (buf.length < 12 + xlen) return null;
  let p = 12;
  while (p + 4 <= 12 + xlen) {
    const slen = (buf[p + 2] ?? 0) | ((buf[p + 3] ?? 0) << 8);
    if (buf[p] === 66 && buf[p + 1] === 67 && slen === 2 && p + 6 <= 12 + xlen) {
      return ((buf[p + 4] ?? 0) | ((buf[p + 5] ?? 0) << 8)) + 1;
    }
    p += 4 + slen;
  }
  return null;
}

/** True when `buf` starts with a BGZF block header (gzip member with the `BC` extra subfield). */
export function isBgzfHeader(buf: Uint8Array): boolean {
  return bgzfBlockSize(buf) !== null;
}

function bgzfBlock(cdata: Buffer, data: Buffer): Buffer {
  const total = HEADER_LENGTH + cdata.length + TRAILER_LENGTH;
  const block = Buffer.allocUnsafe(total);
  // ID1 ID2 CM FLG(FEXTRA) MTIME(0, so output is reproducible) XFL OS(unknown) XLEN=6
  block.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 66, 67, 2, 0], 0);
  block.writeUInt16LE(total - 1, 16);
  cdata.copy(block, HEADER_LENGTH);
  block.writeUInt32LE(zlib.crc32(data), HEADER_LENGTH + cdata.length);
  block.writeUInt32LE(data.length, HEADER_LENGTH + cdata.length + 4);
  return block;
}

export interface BgzfOptions {
  /** zlib level 0-9; bgzip's default is 6. */
  level?: number;
}

/**
 * A Transform that bgzips whatever is written to it. Compression runs on the libuv thread pool
 * (async zlib), one block at a time, so output order is the input order and memory stays at
 * one block.
 */
export function createBgzfStream(options: BgzfOptions = {}): Transform {
  const level = options.level ?? 6;
  const pending = Buffer.allocUnsafe(BGZF_BLOCK_INPUT);
  let filled = 0;

  async function emitBlock(self: Transform, data: Buffer): Promise<void> {
    const cdata = await deflateRaw(data, { level });
    self.push(bgzfBlock(cdata, data));
  }

  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback) {
      const run = async (): Promise<void> => {
        let offset = 0;
        while (offset < chunk.length) {
          const n = Math.min(BGZF_BLOCK_INPUT - filled, chunk.length - offset);
          chunk.copy(pending, filled, offset, offset + n);
          filled += n;
          offset += n;
          if (filled === BGZF_BLOCK_INPUT) {
            filled = 0;
            await emitBlock(this, Buffer.from(pending)); // copy: `pending` is reused
          }
        }
      };
      run().then(() => callback(), callback);
    },
    flush(callback: TransformCallback) {
      const run = async (): Promise<void> => {
        if (filled > 0) await emitBlock(this, Buffer.from(pending.subarray(0, filled)));
        filled = 0;
        this.push(BGZF_EOF);
      };
      run().then(() => callback(), callback);
    },
  });
}

/** Bgzips a small in-memory text or buffer (for tests and fixtures; use the stream for files). */
export async function bgzipBuffer(data: string | Uint8Array, options: BgzfOptions = {}): Promise<Buffer> {
  const stream = createBgzfStream(options);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.end(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
  await done;
  return Buffer.concat(chunks);
}
