/**
 * A small object store with pre-signed URLs, as WESkit's S3 outputs and DNAstack's buckets hand
 * them out: the URL is the credential (HMAC over path and expiry), it expires, and, as on real
 * S3, a request that also carries an Authorization header is refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';

export type SignatureStyle = 'amz' | 'goog';

const PARAMS: Record<SignatureStyle, { expires: string; date: string; signature: string; algorithm: string; algo: string }> = {
  amz: { expires: 'X-Amz-Expires', date: 'X-Amz-Date', signature: 'X-Amz-Signature', algorithm: 'X-Amz-Algorithm', algo: 'AWS4-HMAC-SHA256' },
  goog: { expires: 'X-Goog-Expires', date: 'X-Goog-Date', signature: 'X-Goog-Signature', algorithm: 'X-Goog-Algorithm', algo: 'GOOG4-HMAC-SHA256' },
};

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseStamp(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export class SignedStore {
  readonly #secret: Buffer;

  constructor(
    private readonly style: SignatureStyle,
    private readonly now: () => number,
    secret?: string,
  ) {
    this.#secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  #mac(path: string, date: string, expires: string): string {
    return createHmac('sha256', this.#secret).update(`${path}\n${date}\n${expires}`).digest('hex');
  }

  /** The query string that makes `path` readable for `ttlSeconds`. */
  sign(path: string, ttlSeconds: number): string {
    const p = PARAMS[this.style];
    const date = stamp(this.now());
    const expires = String(ttlSeconds);
    const q = new URLSearchParams({ [p.algorithm]: p.algo, [p.date]: date, [p.expires]: expires });
    q.set(p.signature, this.#mac(path, date, expires));
    return q.toString();
  }

  verify(path: string, query: URLSearchParams): 'ok' | 'expired' | 'invalid' {
    const p = PARAMS[this.style];
    const date = query.get(p.date) ?? '';
    const expires = query.get(p.expires) ?? '';
    const given = Buffer.from(query.get(p.signature) ?? '', 'utf8');
    const expected = Buffer.from(this.#mac(path, date, expires), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    const start = parseStamp(date);
    if (start === null || !/^\d+$/.test(expires)) return 'invalid';
    return this.now() > start + Number(expires) * 1000 ? 'expired' : 'ok';
  }

  /** Serves `absPath` if the request is correctly signed for `path`. */
  async serve(request: Request, path: string, absPath: string | null): Promise<Response> {
    const query = new URL(request.url).searchParams;
    if (request.headers.get('authorization')) {
      return xmlError(400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
    }
    const verdict = this.verify(path, query);
    if (verdict === 'invalid') return xmlError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    if (verdict === 'expired') return xmlError(403, 'AccessDenied', 'Request has expired');
    if (absPath === null) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
    let size: number;
    try {
      size = (await stat(absPath)).size;
    } catch {
      return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
    }
    const body = Readable.toWeb(createReadStream(absPath)) as unknown as ReadableStream<Uint8Array>;
    return new Response(body, {
      status: 200,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    });
  }
}

export function xmlError(status: number, code: string, message: string): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`, {
    status,
    headers: { 'Content-Type': 'application/xml' },
  });
}
