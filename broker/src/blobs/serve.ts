/**
 * Streams a stored object to an HTTP client, with `Range` support so download managers and
 * workflow engines can resume, and the object's SHA-256 as ETag and `Digest` so they can check
 * what they got. The body is streamed from disk: memory stays flat whatever the size.
 */
import { Readable } from 'node:stream';
import type { StoredObject } from '../db/entities';
import { ApiError } from '../http/errors';
import type { FsBlobStore } from './store';

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range); `invalid` when it cannot be served. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

type Servable = Pick<StoredObject, 'blobKey' | 'size' | 'mimeType' | 'name' | 'sha256'>;

/**
 * The response for `object`, whole or the requested range. Throws 416 (with `Content-Range: bytes
 * *\/size`) for a range that cannot be served. `HEAD` gets the headers without a body.
 */
export function blobResponse(blobs: FsBlobStore, object: Servable, request: Request): Response {
  if (object.blobKey === null) throw new ApiError(400, `'${object.name}' is a bundle; fetch the objects it lists instead.`);
  const rangeHeader = request.headers.get('range') ?? undefined;
  const range = parseRange(rangeHeader, object.size);
  if (range === 'invalid') {
    throw new ApiError(416, `Range '${(rangeHeader ?? '').slice(0, 60)}' cannot be served; the file has ${object.size} bytes.`, {
      'Content-Range': `bytes */${object.size}`,
    });
  }
  const fileName = (object.name.split('/').pop() ?? 'download').replace(/[^A-Za-z0-9._+-]/g, '_');
  const headers: Record<string, string> = {
    'Content-Type': object.mimeType,
    'Content-Disposition': `attachment; filename="${fileName}"`,
    'Accept-Ranges': 'bytes',
    ETag: `"${object.sha256}"`,
    Digest: `sha-256=${Buffer.from(object.sha256, 'hex').toString('base64')}`,
    'Cache-Control': 'private, no-store',
  };
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${object.size}`;
    headers['Content-Length'] = String(range.end - range.start + 1);
  } else {
    headers['Content-Length'] = String(object.size);
  }
  const status = range ? 206 : 200;
  if (request.method === 'HEAD') return new Response(null, { status, headers });
  const stream = blobs.read(object.blobKey, range ?? undefined);
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers });
}
