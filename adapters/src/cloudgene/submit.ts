/**
 * The multipart form of `POST /api/v2/jobs/submit/{app}`, following Cloudgene's parser exactly
 * (digest §1.3): an unknown part name rejects the whole request, a checkbox part means "on"
 * whatever its value, and files are parts with a filename, repeated as `files`.
 */
import { openAsBlob } from 'node:fs';
import { BackendError, type SubmitRequest } from '../types';

/** Cloudgene HTML-escapes text fields and IS2 pastes the password into a bash `7z -p"…"` line. */
const SAFE_PASSWORD = /^[A-Za-z0-9]+$/;

/** Checks Cloudgene would not reject or silently mangle, before any byte is uploaded. */
export function checkSubmitRequest(request: SubmitRequest): void {
  if (request.files.length === 0) throw new BackendError('rejected', 'No input files to submit');
  const seen = new Set<string>();
  for (const file of request.files) {
    // IS2 only picks up `*.vcf.gz`: any other name would be uploaded and then silently ignored.
    if (!file.name.endsWith('.vcf.gz') || file.name.includes('/')) {
      throw new BackendError('rejected', `Input file name "${file.name}" must be a plain name ending in .vcf.gz`);
    }
    // Same name twice: the second upload silently overwrites the first.
    if (seen.has(file.name)) throw new BackendError('rejected', `Input file name "${file.name}" is used twice`);
    seen.add(file.name);
  }
  if (!SAFE_PASSWORD.test(request.password)) {
    throw new BackendError('rejected', 'The result password must use only the characters A-Z, a-z and 0-9');
  }
  if (request.params.population === '') {
    // Without a population the validation step dies with a cryptic "--population" parse error.
    throw new BackendError('rejected', 'A population is required (use "off" when the panel offers it)');
  }
}

/**
 * Builds the form with files as disk-backed Blobs: fetch streams them part by part, so a 10 GB
 * cohort never sits in memory.
 */
export async function buildSubmitForm(request: SubmitRequest): Promise<FormData> {
  const { params } = request;
  const form = new FormData();
  form.append('refpanel', params.refpanel);
  form.append('population', params.population);
  form.append('build', params.build);
  form.append('phasing', params.phasing);
  form.append('r2Filter', params.r2Filter);
  form.append('mode', params.mode);
  if (params.aesEncryption === true) form.append('aesEncryption', 'true');
  if (params.meta === true) form.append('meta', 'true');
  form.append('password', request.password);
  form.append('job-name', request.runId);
  for (const file of request.files) {
    const blob = await openAsBlob(file.path, { type: 'application/gzip' });
    form.append('files', blob, file.name);
  }
  return form;
}

export function totalBytes(request: SubmitRequest): number {
  return request.files.reduce((sum, f) => sum + Math.max(0, f.size), 0);
}
