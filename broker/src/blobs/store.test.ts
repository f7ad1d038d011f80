/** The filesystem blob store: streamed writes with checksums, atomic renames, ranges, tees. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BlobTooLargeError, FsBlobStore } from './store';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

let store: FsBlobStore;
beforeEach(() => {
  const root = mkdtempSync(join(tmpdir(), 'ibroker-blobs-'));
  roots.push(root);
  store = new FsBlobStore(root);
});

/** Every file under the store root, relative (the `.partial` ones included). */
function filesOf(s: FsBlobStore): string[] {
  return readdirSync(s.root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(s.root.length + 1));
}

/** A source yielding the given chunks, one per tick. */
function chunks(parts: Buffer[]): Readable {
  return Readable.from(
    (async function* () {
      for (const p of parts) {
        await new Promise((r) => setImmediate(r));
        yield p;
      }
    })(),
  );
}

/** A source that yields some bytes, then fails like a dropped connection. */
function failingAfter(parts: Buffer[], message = 'connection reset'): Readable {
  return Readable.from(
    (async function* () {
      for (const p of parts) {
        await new Promise((r) => setImmediate(r));
        yield p;
      }
      throw new Error(message);
    })(),
  );
}

/** A writable that collects what it receives, slowly when asked (backpressure). */
function collector(options: { delayMs?: number; highWaterMark?: number } = {}) {
  const got: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      got.push(chunk);
      if (options.delayMs) setTimeout(done, options.delayMs);
      else done();
    },
  });
  return { stream, bytes: () => Buffer.concat(got) };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('write', () => {
  it('stores the bytes and computes size, sha256 and md5 equal to node:crypto over them', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const parts = [data.subarray(0, 1000), data.subarray(1000, 2_000_000), data.subarray(2_000_000)];
    const blob = await store.write(chunks(parts));
    expect(blob.size).toBe(data.length);
    expect(blob.sha256).toBe(sha256(data));
    expect(blob.md5).toBe(md5(data));
    expect(blob.key).toMatch(/^[0-9a-f]{2}\/[0-9a-f-]{36}$/);
    expect(blob.key.slice(0, 2)).toBe(blob.key.slice(3, 5));
    expect(readFileSync(store.path(blob.key)).equals(data)).toBe(true);
    expect(await store.size(blob.key)).toBe(data.length);
    expect(filesOf(store)).toEqual([blob.key]);
  });

  it('stores an empty source as an empty blob with the empty-input digests', async () => {
    const blob = await store.write(Readable.from([]));
    expect(blob).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)), md5: md5(Buffer.alloc(0)) });
    expect(readFileSync(store.path(blob.key))).toHaveLength(0);
  });

  it('gives every write its own key', async () => {
    const a = await store.write(Readable.from([Buffer.from('same')]));
    const b = await store.write(Readable.from([Buffer.from('same')]));
    expect(a.key).not.toBe(b.key);
    expect(a.sha256).toBe(b.sha256);
  });

  it('rejects when the source fails and leaves no file behind, .partial included', async () => {
    await expect(store.write(failingAfter([randomBytes(100_000), randomBytes(100_000)]))).rejects.toThrow('connection reset');
    expect(filesOf(store)).toEqual([]);
  });

  it('leaves nothing behind when the source fails before its first byte', async () => {
    for (let i = 0; i < 20; i++) {
      await expect(store.write(failingAfter([], `early ${i}`))).rejects.toThrow(`early ${i}`);
    }
    // Give a late open() of the temporary file the chance to show up if it were going to.
    await new Promise((r) => setTimeout(r, 50));
    expect(filesOf(store)).toEqual([]);
  });

  it('refuses data beyond maxBytes with BlobTooLargeError and keeps nothing', async () => {
    const err = await store.write(chunks([randomBytes(600), randomBytes(600)]), { maxBytes: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect((err as BlobTooLargeError).limit).toBe(1000);
    expect((err as Error).message).toBe('the data is larger than the limit of 1000 bytes');
    expect(filesOf(store)).toEqual([]);
  });

  it('accepts data of exactly maxBytes', async () => {
    const data = randomBytes(1000);
    const blob = await store.write(chunks([data.subarray(0, 400), data.subarray(400)]), { maxBytes: 1000 });
    expect(blob.size).toBe(1000);
    expect(blob.sha256).toBe(sha256(data));
  });
});

describe('tees', () => {
  it('feed every tee the same bytes in the same pass, and end them', async () => {
    const data = randomBytes(1024 * 1024);
    const parts = Array.from({ length: 16 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const fast = collector();
    const slow = collector({ delayMs: 2, highWaterMark: 1024 });
    const finished = Promise.all([fast.stream, slow.stream].map((s) => new Promise((r) => s.once('finish', r))));
    const blob = await store.write(chunks(parts), { tees: [fast.stream, slow.stream] });
    await finished;
    expect(fast.bytes().equals(data)).toBe(true);
    expect(slow.bytes().equals(data)).toBe(true);
    expect(blob.sha256).toBe(sha256(data));
    expect(readFileSync(store.path(blob.key)).equals(data)).toBe(true);
  });

  it('a tee destroyed mid-way (the inspector gave up) neither stalls nor fails the write', async () => {
    const data = randomBytes(512 * 1024);
    const parts = Array.from({ length: 32 }, (_, i) => data.subarray(i * 16384, (i + 1) * 16384));
    let seen = 0;
    // A tiny buffer and a write that never completes: the store is waiting on its drain when it dies.
    const quitter = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, _done) {
        seen += chunk.length;
        setTimeout(() => quitter.destroy(), 20);
      },
    });
    const other = collector();
    const blob = await store.write(chunks(parts), { tees: [quitter, other.stream] });
    expect(quitter.destroyed).toBe(true);
    expect(seen).toBeLessThan(data.length);
    expect(blob.size).toBe(data.length);
    expect(blob.sha256).toBe(sha256(data));
    expect(other.bytes().equals(data)).toBe(true);
    expect(readFileSync(store.path(blob.key)).equals(data)).toBe(true);
  });

  it('a tee that fails with an error is skipped too', async () => {
    const data = randomBytes(256 * 1024);
    const parts = Array.from({ length: 16 }, (_, i) => data.subarray(i * 16384, (i + 1) * 16384));
    const errors: Error[] = [];
    let writes = 0;
    const failing = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, done) {
        if (++writes === 3) return done(new Error('not a VCF'));
        setTimeout(done, 1);
      },
    });
    failing.on('error', (e) => errors.push(e));
    const blob = await store.write(chunks(parts), { tees: [failing] });
    expect(errors.map((e) => e.message)).toEqual(['not a VCF']);
    expect(blob.sha256).toBe(sha256(data));
  });

  it('are stopped when the write fails', async () => {
    const tee = collector();
    await expect(store.write(failingAfter([randomBytes(1000)]), { tees: [tee.stream] })).rejects.toThrow('connection reset');
    expect(tee.stream.destroyed).toBe(true);
    expect(filesOf(store)).toEqual([]);
  });
});

describe('read', () => {
  it('streams a whole blob or an inclusive byte range', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const { key } = await store.write(Readable.from([data]));
    expect(await text(store.read(key))).toBe('0123456789abcdefghij');
    expect(await text(store.read(key, { start: 0, end: 0 }))).toBe('0');
    expect(await text(store.read(key, { start: 5, end: 9 }))).toBe('56789');
    expect(await text(store.read(key, { start: 10, end: 19 }))).toBe('abcdefghij');
  });

  it('fails the stream for a key that is not stored', async () => {
    const missing = '00/00000000-0000-0000-0000-000000000000';
    await expect(text(store.read(missing))).rejects.toThrow(/ENOENT/);
  });

  it('deletes a blob, and deleting it twice is fine', async () => {
    const { key } = await store.write(Readable.from([Buffer.from('x')]));
    await store.delete(key);
    expect(existsSync(store.path(key))).toBe(false);
    await store.delete(key);
  });
});

describe('path', () => {
  it('maps a key to a file under the root', async () => {
    const key = 'ab/abcdef01-2345-6789-abcd-ef0123456789';
    expect(store.path(key)).toBe(join(store.root, 'ab', 'abcdef01-2345-6789-abcd-ef0123456789'));
  });

  it.each([
    '../etc/passwd',
    'ab/../../../../etc/passwd',
    '/etc/passwd',
    'ab/abcdef01-2345-6789-abcd-ef0123456789/..',
    'ab/abcdef01-2345-6789-abcd-ef0123456789.partial',
    'AB/ABCDEF01-2345-6789-ABCD-EF0123456789',
    'ab\\abcdef01-2345-6789-abcd-ef0123456789',
    'ab/abcdef01-2345-6789-abcd-ef012345678',
    '',
  ])('refuses the key %j', (key) => {
    expect(() => store.path(key)).toThrow('invalid blob key');
    expect(() => store.read(key)).toThrow('invalid blob key');
  });
});
