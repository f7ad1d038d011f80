/**
 * `POST /runs` bodies as a WES node reads them: multipart/form-data or urlencoded fields, every
 * value a string; `workflow_attachment` parts stream to the run's folder, never into memory.
 * WES: attachment names may hold sub-directories but never `..` nor an absolute path.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import type { StagedFile } from './types';

export type ParsedRunForm =
  | { ok: true; fields: Record<string, string>; attachments: StagedFile[] }
  | { ok: false; status: 400 | 413 | 415; message: string };

function safeRelative(name: string): string | null {
  if (name === '' || name.startsWith('/') || name.startsWith('\\') || /^[a-z]:/i.test(name)) return null;
  const clean = normalize(name).split(sep).join('/');
  if (clean.split('/').some((part) => part === '..' || part === '')) return null;
  return clean;
}

export async function parseRunForm(request: Request, dir: string, maxBytes: number): Promise<ParsedRunForm> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(contentType)) {
    return { ok: false, status: 415, message: `Unsupported Content-Type '${contentType.slice(0, 80)}': send multipart/form-data` };
  }
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (declared > maxBytes) return { ok: false, status: 413, message: `The request is ${declared} bytes; this node accepts at most ${maxBytes}` };

  const fields: Record<string, string> = {};
  const attachments: StagedFile[] = [];
  const writes: Promise<void>[] = [];
  let problem: string | null = null;
  let total = 0;
  let tooLarge = false;
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, preservePath: true, defParamCharset: 'utf8', limits: { fieldSize: 1024 * 1024, fields: 100 } });
  } catch (error) {
    return { ok: false, status: 400, message: `Malformed request: ${(error as Error).message}` };
  }
  await mkdir(dir, { recursive: true });
  parser.on('field', (name, value) => {
    fields[name] = value;
  });
  parser.on('file', (name, stream, info) => {
    if (name !== 'workflow_attachment') {
      stream.resume();
      return;
    }
    const rel = safeRelative(info.filename ?? '');
    if (rel === null) {
      problem ??= `Attachment filename '${(info.filename ?? '').slice(0, 100)}' is not a relative path inside the run`;
      stream.resume();
      return;
    }
    const path = join(dir, rel);
    attachments.push({ name: rel, path });
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        total += chunk.length;
        // Keep reading (to answer at all) but stop writing: the answer will be 413.
        if (total > maxBytes) tooLarge = true;
        done(null, tooLarge ? undefined : chunk);
      },
    });
    writes.push(mkdir(dirname(path), { recursive: true }).then(() => pipeline(stream, meter, createWriteStream(path))));
  });
  const body = request.body ? Readable.fromWeb(request.body as unknown as WebReadableStream<Uint8Array>) : Readable.from([]);
  try {
    await pipeline(body, parser);
    await Promise.all(writes);
  } catch (error) {
    await Promise.allSettled(writes);
    await rm(dir, { recursive: true, force: true });
    return { ok: false, status: 400, message: `Malformed request: ${(error as Error).message}` };
  }
  if (tooLarge) {
    await rm(dir, { recursive: true, force: true });
    return { ok: false, status: 413, message: `The upload is larger than ${maxBytes} bytes` };
  }
  if (problem !== null) {
    await rm(dir, { recursive: true, force: true });
    return { ok: false, status: 400, message: problem };
  }
  return { ok: true, fields, attachments };
}
