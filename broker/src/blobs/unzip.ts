/**
 * Opens a password-protected result zip (Cloudgene's `chr_N.zip`: ZipCrypto, or AES-256 with
 * `aesEncryption`) from the blob store and streams every member into the blob store, with its
 * checksums, so users get `chr20.dose.vcf.gz` as an object of its own and never handle the zip
 * password unless they want the original zip.
 *
 * The zip is read from disk by offset (a file-backed Blob), never loaded whole, and each member
 * is decompressed straight into its blob: memory stays flat whatever the size.
 */
import { openAsBlob } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BlobReader, ZipReader, configure, type FileEntry } from '@zip.js/zip.js';
import type { FsBlobStore, StoredBlob } from './store';

// Workers are a browser concern; in Node they would only add start-up cost.
configure({ useWebWorkers: false });

export interface ZipMember {
  /** The member's file name, without directories (portable characters only). */
  name: string;
  blob: StoredBlob;
}

/** The zip cannot be opened (not a zip, wrong password, damaged): trying again will not help. */
export class ZipUnreadableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ZipUnreadableError';
  }
}

const PORTABLE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export interface UnzipOptions {
  /** Members beyond this many bytes each are refused (a zip bomb is the backend's bug, not ours to store). */
  maxMemberBytes: number;
  /** At most this many members are opened. */
  maxMembers?: number;
}

/** A file-system failure (disk full...) is worth retrying; anything zip.js says is not. */
function isSystemError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | null)?.code === 'string' && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!);
}

/**
 * Streams every file member of the zip at `zipPath` into `blobs`. On any failure the blobs written
 * so far are removed: the caller records all members or none.
 */
export async function extractZipMembers(blobs: FsBlobStore, zipPath: string, password: string, options: UnzipOptions): Promise<ZipMember[]> {
  const written: ZipMember[] = [];
  let reader: ZipReader<Blob> | null = null;
  try {
    reader = new ZipReader(new BlobReader(await openAsBlob(zipPath)), { password, useWebWorkers: false });
    const entries = await reader.getEntries();
    const files = entries.filter((e): e is FileEntry => !e.directory);
    if (files.length > (options.maxMembers ?? 1000)) throw new ZipUnreadableError(`it has ${files.length} members, more than the ${options.maxMembers ?? 1000} the broker opens`);
    const seen = new Set<string>();
    for (const entry of files) {
      const name = entry.filename.split('/').pop() ?? '';
      if (!PORTABLE.test(name) || entry.filename.includes('..') || seen.has(name)) {
        throw new ZipUnreadableError(`member '${entry.filename.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}' has a name the broker does not store (path tricks, odd characters or a duplicate)`);
      }
      seen.add(name);
      if (entry.uncompressedSize > options.maxMemberBytes) {
        throw new ZipUnreadableError(`member ${name} would be ${entry.uncompressedSize} bytes, more than the limit of ${options.maxMemberBytes}`);
      }
      const pipe = new TransformStream<Uint8Array, Uint8Array>();
      const stored = options.maxMemberBytes;
      const storing = blobs.write(Readable.fromWeb(pipe.readable as unknown as WebReadableStream<Uint8Array>), { maxBytes: stored });
      const reading = entry.getData(pipe.writable, { password, checkPasswordOnly: false }).catch(async (err: unknown) => {
        await pipe.writable.abort(err).catch(() => undefined);
        throw err;
      });
      const [blob] = await Promise.all([storing, reading]);
      written.push({ name, blob });
    }
    return written;
  } catch (err) {
    await Promise.all(written.map((m) => blobs.delete(m.blob.key)));
    if (err instanceof ZipUnreadableError || isSystemError(err)) throw err;
    throw new ZipUnreadableError((err as Error).message || 'the zip could not be read', { cause: err });
  } finally {
    await reader?.close().catch(() => undefined);
  }
}
