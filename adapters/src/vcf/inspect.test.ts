import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bgzipBuffer } from './bgzf';
import { createVcfInspector, inspectVcf, VcfFormatError, type VcfSummary } from './inspect';
import { createSyntheticVcfStream } from './synth';

const HEADER = '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO';

function vcf(samples: string[], rows: string[][], meta = '##fileformat=VCFv4.2\n'): string {
  const head = samples.length > 0 ? `${HEADER}\tFORMAT\t${samples.join('\t')}` : HEADER;
  return `${meta}${head}\n${rows.map((r) => r.join('\t')).join('\n')}${rows.length > 0 ? '\n' : ''}`;
}

const names = (n: number, prefix = 'S'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const row = (chrom: string, pos: number | string, gts: string[], ref = 'A', alt = 'G'): string[] => [
  chrom, String(pos), `rs${pos}`, ref, alt, '.', 'PASS', '.', 'GT', ...gts,
];

async function inspect(bytes: Buffer | string, options?: Parameters<typeof inspectVcf>[1]): Promise<VcfSummary> {
  const buf = typeof bytes === 'string' ? await bgzipBuffer(bytes) : bytes;
  // Small pieces so that headers, blocks and lines straddle chunk boundaries.
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 1000) pieces.push(buf.subarray(i, i + 1000));
  return inspectVcf(Readable.from(pieces), options);
}

async function failure(bytes: Buffer | string, options?: Parameters<typeof inspectVcf>[1]): Promise<VcfFormatError> {
  try {
    await inspect(bytes, options);
  } catch (error) {
    expect(error).toBeInstanceOf(VcfFormatError);
    return error as VcfFormatError;
  }
  throw new Error('expected the inspection to fail');
}

describe('inspectVcf: happy path', () => {
  it('summarises a bgzipped VCF', async () => {
    const samples = names(25);
    const text = vcf(samples, [
      row('20', 100, samples.map(() => '0|1')),
      row('20', 200, samples.map(() => '1|1')),
      row('20', 20_000_001, samples.map(() => '0|0')),
    ], '##fileformat=VCFv4.1\n##contig=<ID=20>\n');
    expect(await inspect(text)).toEqual({
      bgzf: true,
      fileformat: 'VCFv4.1',
      samples,
      chromosomes: ['20'],
      variants: 3,
      phased: true,
      duplicateSamples: [],
      chunks: 2,
      sameAlleles: null,
      unsorted: null,
    });
  });

  it('reports unphased data, several chromosomes in order, duplicates, REF = ALT and disorder', async () => {
    const samples = ['A', 'B', 'A', 'C', 'B'];
    const s = await inspect(
      vcf(samples, [
        row('chr2', 10, ['0|1', '0|0', '1|1', '0|1', '0|0']),
        row('chr2', 5, ['0|1', '0/1', '1|1', '0|1', '.|.']),
        row('chr1', 7, ['0|1', '0|1', '1|1', '0|1', '0|0'], 'C', 'C'),
        row('chr2', 11, ['0:12', '0', '1', '0', '0']),
      ]),
    );
    expect(s.chromosomes).toEqual(['chr2', 'chr1']);
    expect(s.phased).toBe(false);
    expect(s.duplicateSamples).toEqual(['A', 'B']);
    expect(s.sameAlleles).toEqual({ line: 5, id: 'rs7', ref: 'C', alt: 'C' });
    expect(s.unsorted).toEqual({ line: 4, chromosome: 'chr2', position: 5 });
    expect(s.variants).toBe(4);
  });

  it('accepts a sites-only VCF (no samples) and reports no GT', async () => {
    const s = await inspect(vcf([], [['20', '1', '.', 'A', 'G', '.', '.', '.'], ['20', '2', '.', 'A', 'T', '.', '.', '.']]));
    expect(s.samples).toEqual([]);
    expect(s.variants).toBe(2);
    expect(s.phased).toBeNull();
  });

  it('accepts a header-only VCF (validation reports it) and Windows line endings', async () => {
    const s = await inspect(vcf(names(3), []).replaceAll('\n', '\r\n'));
    expect(s.variants).toBe(0);
    expect(s.samples).toEqual(['S1', 'S2', 'S3']);
  });

  it('reads a file much larger than its buffers: many blocks, lines across block boundaries', async () => {
    const stream = createSyntheticVcfStream({ chromosome: 'chr20', samples: 500, variants: 4000, seed: 3, phased: false, level: 1 });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const file = Buffer.concat(chunks);
    expect(zlib.gunzipSync(file).length).toBeGreaterThan(6 * 1024 * 1024);
    const s = await inspectVcf(Readable.from([file]));
    expect(s.variants).toBe(4000);
    expect(s.samples).toHaveLength(500);
    expect(s.samples[499]).toBe('SAMPLE0500');
    expect(s.chromosomes).toEqual(['chr20']);
    expect(s.phased).toBe(false);
    expect(s.unsorted).toBeNull();
  });

  it('accepts plain gzip only when asked to, and says so', async () => {
    const text = vcf(names(2), [row('20', 1, ['0|1', '1|0'])]);
    const s = await inspect(zlib.gzipSync(text), { requireBgzf: false });
    expect(s.bgzf).toBe(false);
    expect(s.variants).toBe(1);
  });
});

describe('createVcfInspector', () => {
  it('inspects while the same bytes are hashed and stored', async () => {
    const source = createSyntheticVcfStream({ chromosome: '21', samples: 30, variants: 2000, seed: 9 });
    const { stream, result } = createVcfInspector();
    const hash = createHash('sha256');
    const stored: Buffer[] = [];
    const tee = new PassThrough();
    tee.pipe(stream);
    await pipeline(
      source,
      tee,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          hash.update(chunk);
          stored.push(chunk);
          cb();
        },
      }),
    );
    const summary = await result;
    expect(summary.variants).toBe(2000);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.concat(stored)).digest('hex'));
  });

  it('does not break the tee on a bad file: the verdict goes to `result` only', async () => {
    const { stream, result } = createVcfInspector();
    const garbage = randomBytes(300_000);
    await pipeline(Readable.from([garbage.subarray(0, 100_000), garbage.subarray(100_000)]), stream);
    await expect(result).rejects.toMatchObject({ code: 'not_gzip' });
  });
});

describe('inspectVcf: hostile input', () => {
  const good = vcf(names(20), [row('20', 1, names(20).map(() => '0|1')), row('20', 2, names(20).map(() => '1|0'))]);

  it('plain gzip', async () => {
    const e = await failure(zlib.gzipSync(good));
    expect(e.code).toBe('not_bgzf');
    expect(e.message).toContain('bgzip');
    expect(e.message).toContain('not bgzip');
  });

  it('a bgzip file cut in half', async () => {
    const gz = await bgzipBuffer(good.repeat(1).padEnd(200_000, '#'));
    expect((await failure(gz.subarray(0, Math.floor(gz.length / 2)))).code).toBe('truncated');
  });

  it('a bgzip file cut at a block boundary (no EOF marker)', async () => {
    const gz = await bgzipBuffer(good);
    expect((await failure(gz.subarray(0, gz.length - 28))).code).toBe('truncated');
  });

  it('a bgzip file with a corrupted block', async () => {
    const gz = Buffer.from(await bgzipBuffer(good));
    for (let i = 20; i < 40; i++) gz[i] = (gz[i] as number) ^ 0xff;
    expect((await failure(gz)).code).toBe('truncated');
  });

  it('trailing bytes after the last block', async () => {
    const gz = await bgzipBuffer(good);
    expect((await failure(Buffer.concat([gz, Buffer.from('trailing junk, not gzip')]))).code).toBe('truncated');
  });

  it('random bytes', async () => {
    const e = await failure(randomBytes(100_000));
    expect(e.code).toBe('not_gzip');
    expect(e.message).toContain('bgzip');
  });

  it('an uncompressed VCF', async () => {
    const e = await failure(Buffer.from(good));
    expect(e.code).toBe('not_gzip');
    expect(e.message).toContain('uncompressed VCF');
  });

  it('an empty file, and a tiny one', async () => {
    expect((await failure(Buffer.alloc(0))).code).toBe('empty');
    expect((await failure(Buffer.from('hi'))).code).toBe('not_gzip');
  });

  it('bgzipped nothing', async () => {
    expect((await failure(await bgzipBuffer(''))).code).toBe('empty');
  });

  it('bgzipped text that is not a VCF', async () => {
    const e = await failure('id,genotype\nrs1,AG\nrs2,CC\n');
    expect(e.code).toBe('no_header');
    expect(e.message).toContain('##fileformat=VCF');
  });

  it('bgzipped random bytes', async () => {
    expect((await failure(await bgzipBuffer(randomBytes(300_000)))).code).toBe('no_header');
  });

  it('a VCF compressed twice', async () => {
    const e = await failure(await bgzipBuffer(await bgzipBuffer(good)));
    expect(e.code).toBe('no_header');
    expect(e.message).toContain('compressed twice');
  });

  it('no #CHROM line before the data', async () => {
    const e = await failure('##fileformat=VCFv4.2\n20\t1\t.\tA\tG\t.\t.\t.\n');
    expect(e.code).toBe('no_header');
    expect(e.message).toContain('Line 2');
  });

  it('no #CHROM line at all', async () => {
    expect((await failure('##fileformat=VCFv4.2\n##contig=<ID=20>\n')).code).toBe('no_header');
  });

  it('a header separated by spaces', async () => {
    const e = await failure('##fileformat=VCFv4.2\n#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT S1\n');
    expect(e.code).toBe('malformed');
    expect(e.message).toContain('tabs');
  });

  it('a data line with a missing column names the line', async () => {
    const samples = names(20);
    const rows = [row('20', 1, samples.map(() => '0|1')), row('20', 2, samples.slice(1).map(() => '0|1'))];
    const e = await failure(vcf(samples, rows));
    expect(e.code).toBe('malformed');
    expect(e.message).toContain('Line 4 has 28 tab-separated columns, but the header line has 29');
  });

  it('a data line with an extra column', async () => {
    const samples = names(3);
    const e = await failure(vcf(samples, [row('20', 1, ['0|1', '0|1', '0|1', '0|1'])]));
    expect(e.message).toContain('Line 3 has 13');
  });

  it('a sites-only VCF with an extra column', async () => {
    const e = await failure(vcf([], [['20', '1', '.', 'A', 'G', '.', '.', '.', 'GT']]));
    expect(e.code).toBe('malformed');
  });

  it('a non-numeric position', async () => {
    const e = await failure(vcf(names(2), [row('20', 'abc', ['0|1', '0|1'])]));
    expect(e.code).toBe('malformed');
    expect(e.message).toContain('Line 3');
    expect(e.message).toContain('"abc"');
  });

  it('an over-long line (configurable bound)', async () => {
    const e = await failure(`##fileformat=VCFv4.2\n##comment=${'x'.repeat(5000)}\n`, { maxLineBytes: 4096 });
    expect(e.code).toBe('malformed');
    expect(e.message).toContain('Line 2 is longer than 4096 bytes');
  });

  it('a gzipped file without any newline hits the default 32 MB bound', async () => {
    const gz = await bgzipBuffer(Buffer.alloc(33 * 1024 * 1024, 0x41), { level: 1 });
    const e = await failure(gz);
    expect(e.code).toBe('malformed');
    expect(e.message).toContain('Line 1 is longer than 32 MB');
  });

  it('an error from the input stream itself is passed on as is', async () => {
    const input = new Readable({ read() { this.destroy(new Error('disk on fire')); } });
    await expect(inspectVcf(input)).rejects.toThrow('disk on fire');
  });
});

describe('inspectVcf: bounded state', () => {
  it('refuses an absurd number of distinct chromosome names instead of collecting them', async () => {
    const lines = ['##fileformat=VCFv4.2', HEADER];
    for (let i = 0; i < 50_001; i++) lines.push(`c${i}\t1\t.\tA\tG\t.\t.\t.`);
    const e = await failure(lines.join('\n') + '\n');
    expect(e.code).toBe('malformed');
    expect(e.message).toContain('Line 50003');
  });

  it('passes an I/O error of the source through unchanged, even one with an errno', async () => {
    const io = Object.assign(new Error('EIO: i/o error, read'), { errno: -5, code: 'EIO' });
    const input = new Readable({ read() { this.destroy(io); } });
    await expect(inspectVcf(input)).rejects.toBe(io);
  });
});

describe('createVcfInspector: aborts', () => {
  it('settles `result` when the stream is destroyed early, with or without an error', async () => {
    const a = createVcfInspector();
    a.stream.write(await bgzipBuffer('##fileformat=VCFv4.2\n'));
    a.stream.destroy();
    await expect(a.result).rejects.toThrow('aborted');
    const b = createVcfInspector();
    b.stream.on('error', () => undefined); // the caller's own error, as on any Writable
    b.stream.destroy(new Error('client went away'));
    await expect(b.result).rejects.toThrow('client went away');
  });
});
