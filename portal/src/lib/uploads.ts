/**
 * The enhanced new-run form's uploads: each file on its own through `POST /api/v1/uploads`
 * (raw body, so XHR reports progress), checked by the broker as it arrives. A file that fails is
 * retried alone; the others stay uploaded. The run is submitted once every file passed.
 */
import type { components } from '@ibroker/api-spec/broker';

export type Upload = components['schemas']['Upload'];

export type UploadState =
  | { status: 'waiting'; progress: 0 }
  | { status: 'uploading'; progress: number }
  | { status: 'done'; progress: 100; upload: Upload }
  | { status: 'failed'; progress: number; message: string };

/** One key per chosen file: the same name chosen again from elsewhere is a different file. */
export const fileKey = (f: Pick<File, 'name' | 'size' | 'lastModified'>): string => `${f.name}:${f.size}:${f.lastModified}`;

/** What the broker's pre-flight read, in words. */
export function describeUpload(u: Upload): string {
  if (!u.vcf) return 'Uploaded and checked.';
  const v = u.vcf;
  const chr = v.chromosomes.length === 1 ? `chromosome ${v.chromosomes[0]}` : `chromosomes ${v.chromosomes.join(', ')}`;
  const phased = v.phased === null ? '' : v.phased ? ', phased' : ', unphased';
  return `Checked: ${v.samples} samples, ${chr}, ${v.variants} variants${phased}, build ${v.build ?? 'not detected'}.`;
}

/** The message of a refused upload, from the broker's `{msg}` or the HTTP status. */
export function uploadError(status: number, responseText: string): string {
  try {
    const body = JSON.parse(responseText) as { msg?: unknown };
    if (typeof body.msg === 'string' && body.msg.trim()) return body.msg;
  } catch {
    // not JSON: fall through
  }
  if (status === 0) return 'The upload was interrupted (network error); retry it.';
  if (status === 401) return 'Your session has ended: sign in again, then retry.';
  if (status === 413) return 'The file is larger than the broker accepts.';
  return `The broker answered ${status}; retry the file.`;
}

/** Uploads one file with progress; resolves with the broker's record or rejects with a message. */
export function uploadFile(file: File, csrf: string, onProgress: (pct: number) => void): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/uploads?name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-csrf-token', csrf);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress((e.loaded / e.total) * 100);
    };
    xhr.onload = () => {
      if (xhr.status === 201) {
        try {
          resolve(JSON.parse(xhr.responseText) as Upload);
          return;
        } catch {
          // fall through to the error
        }
      }
      reject(new Error(uploadError(xhr.status, xhr.responseText)));
    };
    xhr.onerror = () => reject(new Error(uploadError(0, '')));
    xhr.send(file);
  });
}
