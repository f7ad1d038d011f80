/**
 * Cloudgene's multipart rules (FormUtil + JobParameterParser): `input-` prefix stripped, unknown
 * names reject the whole request, text values HTML-escaped, parts with a filename are files.
 * Files stream straight to disk; nothing is held in memory.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import { escapeHtml } from './format';

export interface ParsedForm {
  values: Map<string, string>;
  files: { name: string; path: string }[];
}

export type FormResult =
  | { ok: true; form: ParsedForm }
  | { ok: false; status: 400; message: string; json: boolean };

/** Inputs of imputationserver2 (IS2 cloudgene.yaml), file inputs separately. */
export const TEXT_INPUTS = new Set([
  'refpanel', 'build', 'r2Filter', 'phasing', 'population', 'mode', 'aesEncryption', 'meta',
  'password', 'check1', 'check2', 'myseparator',
]);
export const FILE_INPUTS = new Set(['files']);

function paramName(raw: string): string {
  return raw.startsWith('input-') ? raw.slice('input-'.length) : raw;
}

function accepted(name: string): boolean {
  return name === 'job-name' || name.endsWith('-pattern') || TEXT_INPUTS.has(name) || FILE_INPUTS.has(name);
}

export async function parseSubmitForm(request: Request, uploadDir: string): Promise<FormResult> {
  const contentType = request.headers.get('content-type') ?? '';
  const values = new Map<string, string>();
  const files: { name: string; path: string }[] = [];
  let unknown: string | null = null;
  const writes: Promise<void>[] = [];

  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8' });
  } catch (err) {
    // JobController.submit answers any other exception with its toString() as a plain body.
    return { ok: false, status: 400, message: `java.lang.IllegalArgumentException: ${(err as Error).message}`, json: false };
  }
  await mkdir(uploadDir, { recursive: true });

  parser.on('field', (rawName, value) => {
    const name = paramName(rawName);
    if (!accepted(name)) {
      unknown ??= name;
      return;
    }
    values.set(name, escapeHtml(value));
  });
  parser.on('file', (rawName, stream, info) => {
    const name = paramName(rawName);
    if (!FILE_INPUTS.has(name)) {
      if (!accepted(name)) unknown ??= name;
      stream.resume();
      return;
    }
    // The stored name is the multipart filename; a repeated name overwrites, as on the real server.
    const safe = basename(info.filename || 'upload').replace(/[^A-Za-z0-9._-]/g, '_') || 'upload';
    const path = join(uploadDir, safe);
    const existing = files.findIndex((f) => f.name === safe);
    if (existing >= 0) files.splice(existing, 1);
    files.push({ name: safe, path });
    writes.push(pipeline(stream, createWriteStream(path)));
  });

  const body = request.body
    ? Readable.fromWeb(request.body as unknown as WebReadableStream<Uint8Array>)
    : Readable.from([]);
  try {
    await pipeline(body, parser);
    await Promise.all(writes);
  } catch (err) {
    await rm(uploadDir, { recursive: true, force: true });
    return { ok: false, status: 400, message: `java.io.IOException: ${(err as Error).message}`, json: false };
  }
  if (unknown !== null) {
    await rm(uploadDir, { recursive: true, force: true });
    return { ok: false, status: 400, message: `Parameter '${unknown}' not found.`, json: true };
  }
  return { ok: true, form: { values, files } };
}
