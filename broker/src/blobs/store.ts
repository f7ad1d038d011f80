/**
 * Where inputs and results live: a directory tree by default. Bytes are streamed in with
 * SHA-256 and MD5 computed on the way, written to a temporary name and renamed only once
 * complete, so a stored key never points at a partial file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StoredBlob {
  key: string;
  size: number;
  sha256: string;
  md5: string;
}

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the data is larger than the limit of ${limit} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

export interface WriteOptions {
  /** Refuse (and remove) data beyond this many bytes. */
  maxBytes?: number;
  /** Extra consumers of the same bytes (e.g. a VCF inspector), fed in the same pass. */
  tees?: Writable[];
}

export class FsBlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Absolute path of a stored blob; adapters stream uploads from it. */
  path(key: string): string {
    if (!/^[0-9a-f]{2}\/[0-9a-f-]{36}$/.test(key)) throw new Error('invalid blob key');
    return join(this.root, key);
  }

  async write(source: Readable, options: WriteOptions = {}): Promise<StoredBlob> {
    const id = randomUUID();
    const key = `${id.slice(0, 2)}/${id}`;
    const finalPath = this.path(key);
    const tmpPath = `${finalPath}.partial`;
    await mkdir(join(this.root, key.slice(0, 2)), { recursive: true });
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    let size = 0;
    const tees = options.tees ?? [];
    const limit = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const digest = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > limit) return done(new BlobTooLargeError(limit));
        sha256.update(chunk);
        md5.update(chunk);
        // Backpressure from a slow tee (the inspector) pauses the upload instead of buffering it.
        let pending = 0;
        const next = () => {
          if (--pending === 0) done(null, chunk);
        };
        pending = 1;
        for (const t of tees) {
          // A consumer that gave up (the inspector found the file is not a VCF) is skipped:
          // the upload still completes so the client gets the inspector's message, not a hang.
          if (t.destroyed || t.writableEnded) continue;
          if (!t.write(chunk)) {
            pending++;
            let settled = false;
            const once = () => {
              if (settled) return;
              settled = true;
              t.off('drain', once);
              t.off('close', once);
              next();
            };
            t.on('drain', once);
            t.on('close', once);
          }
        }
        next();
      },
      flush(done) {
        for (const t of tees) if (!t.destroyed && !t.writableEnded) t.end();
        done();
      },
    });
    try {
      await pipeline(source, digest, createWriteStream(tmpPath, { flags: 'wx' }));
      await rename(tmpPath, finalPath);
    } catch (err) {
      // Stop the consumers; they settle on their own (an error here would be unhandled).
      for (const t of tees) t.destroy();
      await rm(tmpPath, { force: true });
      throw err;
    }
    return { key, size, sha256: sha256.digest('hex'), md5: md5.digest('hex') };
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    // 1 MiB reads: far fewer chunks (and event-loop turns) per gigabyte than the 64 KiB default.
    return createReadStream(this.path(key), { highWaterMark: 1024 * 1024, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async size(key: string): Promise<number> {
    return (await stat(this.path(key))).size;
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
