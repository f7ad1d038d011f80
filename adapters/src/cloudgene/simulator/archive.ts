/**
 * `chr_<N>.zip` as IS2's COMPRESSION_ENCRYPTION_VCF writes it with 7-Zip: password-protected,
 * ZipCrypto by default (what zip4j/unzip open), AES-256 when `aesEncryption` is on.
 * Entries are streamed from disk into the zip on disk.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { ZipWriter, configure } from '@zip.js/zip.js';

// Workers are a browser concern; in Node they would only add start-up cost.
configure({ useWebWorkers: false });

export async function writeEncryptedZip(
  zipPath: string,
  entries: { entry: string; path: string }[],
  password: string,
  aes: boolean,
): Promise<void> {
  const out = Writable.toWeb(createWriteStream(zipPath));
  const writer = new ZipWriter(out, aes ? { password, encryptionStrength: 3 } : { password, zipCrypto: true });
  for (const e of entries) {
    // Node's web-stream type and the DOM one zip.js declares are the same object at run time.
    const readable = Readable.toWeb(createReadStream(e.path)) as unknown as ReadableStream<Uint8Array>;
    // The members are bgzipped already; storing them avoids burning CPU for nothing.
    await writer.add(e.entry, readable, { level: 0 });
  }
  await writer.close();
}
