/**
 * The distribution of r² in a result's `chrN.info.gz`, read while it streams from the broker
 * (gunzip and line splitting on the way, nothing held whole), bounded in lines so a page never
 * waits for a whole genome.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { R2Reader, type R2Histogram } from '$lib/compare';
import type { Api } from './broker';
import { sameOriginPath } from '$lib/runs';

/** Lines read at most per file (enough for a stable distribution; the page says when it stopped). */
export const MAX_INFO_LINES = 500_000;

export async function r2FromStream(chromosome: string, gz: Readable, maxLines = MAX_INFO_LINES): Promise<R2Histogram> {
  const reader = new R2Reader(chromosome);
  const gunzip = createGunzip();
  gz.on('error', (err) => gunzip.destroy(err));
  const lines = createInterface({ input: gz.pipe(gunzip), crlfDelay: Infinity });
  let n = 0;
  let truncated = false;
  for await (const line of lines) {
    reader.line(line);
    if (++n >= maxLines) {
      truncated = true;
      break;
    }
  }
  lines.close();
  gz.destroy();
  gunzip.destroy();
  return reader.finish(truncated);
}

/** Fetches one info file from the broker (with the browser's cookie) and reads its r². */
export async function r2OfFile(client: Api, chromosome: string, url: string): Promise<R2Histogram | { chromosome: string; error: string }> {
  const res = await fetch(`${client.base}${sameOriginPath(url)}`, { headers: { ...client.headers, accept: 'application/octet-stream' } });
  if (!res.ok || !res.body) return { chromosome, error: `The broker answered ${res.status} for this file.` };
  try {
    return await r2FromStream(chromosome, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>));
  } catch (err) {
    return { chromosome, error: `The file could not be read (${(err as Error).message}).` };
  }
}
