import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BGZF_BLOCK_INPUT, BGZF_EOF, bgzfBlockSize, bgzipBuffer, createBgzfStream, isBgzfHeader } from './bgzf';
import { inspectVcf } from './inspect';

/** Splits a BGZF file by BSIZE and checks each block on its own, as htslib would. */
function blocks(file: Buffer): { size: number; data: Buffer }[] {
  const out: { size: number; data: Buffer }[] = [];
  let offset = 0;
  while (offset < file.length) {
    const size = bgzfBlockSize(file.subarray(offset));
    expect(size, `block header at ${offset}`).not.toBeNull();
    const block = file.subarray(offset, offset + (size as number));
    expect(block.length).toBe(size);
    const data = zlib.inflateRawSync(block.subarray(18, block.length - 8));
    expect(block.readUInt32LE(block.length - 8)).toBe(zlib.crc32(data));
    expect(block.readUInt32LE(block.length - 4)).toBe(data.length);
    out.push({ size: size as number, data });
    offset += size as number;
  }
  return out;
}

describe('createBgzfStream', () => {
  it('round-trips text through zlib.gunzip (multi-member) and block by block', async () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `line ${i}\t${'ACGT'.repeat(i % 7)}`).join('\n');
    const gz = await bgzipBuffer(text);
    expect(zlib.gunzipSync(gz).toString('utf8')).toBe(text);
    const parts = blocks(gz);
    expect(parts.length).toBeGreaterThan(2);
    expect(Buffer.concat(parts.map((p) => p.data)).toString('utf8')).toBe(text);
    for (const p of parts.slice(0, -2)) expect(p.data.length).toBe(BGZF_BLOCK_INPUT);
    expect(gz.subarray(gz.length - 28).equals(BGZF_EOF)).toBe(true);
  });

  it('keeps incompressible data within the 16-bit block size', async () => {
    const data = randomBytes(5 * BGZF_BLOCK_INPUT + 123);
    const gz = await bgzipBuffer(data, { level: 9 });
    const parts = blocks(gz);
    expect(parts.length).toBe(7);
    for (const p of parts) expect(p.size).toBeLessThanOrEqual(65536);
    expect(Buffer.concat(parts.map((p) => p.data)).equals(data)).toBe(true);
  });

  it('writes only the EOF block for empty input', async () => {
    expect((await bgzipBuffer('')).equals(BGZF_EOF)).toBe(true);
  });

  it('streams: input arriving in odd-sized pieces gives the same bytes as one write', async () => {
    const text = 'x'.repeat(200_000) + 'y'.repeat(70_001);
    const pieces = Readable.from(Array.from({ length: 271 }, (_, i) => Buffer.from(text.slice(i * 997, (i + 1) * 997))));
    const chunks: Buffer[] = [];
    for await (const c of pieces.pipe(createBgzfStream())) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(await bgzipBuffer(text))).toBe(true);
  });

  it('is recognised by the inspector as BGZF', async () => {
    const gz = await bgzipBuffer('##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n20\t1\t.\tA\tG\t.\t.\t.\n');
    expect((await inspectVcf(Readable.from([gz]))).bgzf).toBe(true);
  });
});

describe('isBgzfHeader', () => {
  it('tells bgzip from gzip and from non-gzip', async () => {
    expect(isBgzfHeader(await bgzipBuffer('hello'))).toBe(true);
    expect(isBgzfHeader(BGZF_EOF)).toBe(true);
    expect(isBgzfHeader(zlib.gzipSync('hello'))).toBe(false);
    expect(isBgzfHeader(Buffer.from('##fileformat=VCFv4.2\n'))).toBe(false);
    expect(isBgzfHeader(BGZF_EOF.subarray(0, 10))).toBe(false);
  });
});
