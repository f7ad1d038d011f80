/**
 * Inputs a simulated engine fetches itself: https URLs, and `drs://host[:port]/id` URIs resolved
 * as the eLwazi WESkit fork does (`GET <scheme>://host:port/ga4gh/drs/v1/objects/<id>`, then the
 * object's https access URL, or its `access_id` through `/access/<access_id>`). Plain http is
 * allowed on loopback only, so tests can serve inputs without certificates.
 */
import { createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { asArray, asRecord, asString } from '../http/json';

export class InputFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFetchError';
  }
}

export interface FetchInputOptions {
  /** Allow `http:` to loopback hosts (tests, demo). */
  allowLoopbackHttp: boolean;
  signal?: AbortSignal;
  maxBytes?: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function checkScheme(url: URL, allowLoopbackHttp: boolean): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && allowLoopbackHttp && LOOPBACK.has(url.hostname)) return;
  throw new InputFetchError(`Cannot read ${url.protocol}//${url.host}: only https inputs are supported`);
}

function safeName(name: string): string {
  const base = basename(name).replace(/[^A-Za-z0-9._-]/g, '_');
  return base === '' || base.startsWith('.') ? `input${base}` : base;
}

async function getJson(url: URL, signal: AbortSignal | undefined, headers: Record<string, string> = {}): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json', ...headers }, signal, redirect: 'follow' });
  } catch (error) {
    throw new InputFetchError(`Could not reach ${url.origin}: ${(error as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new InputFetchError(`${url.origin}${url.pathname} answered HTTP ${res.status}`);
  }
  try {
    return (await res.json()) as unknown;
  } catch {
    throw new InputFetchError(`${url.origin}${url.pathname} did not answer JSON`);
  }
}

interface Resolved {
  url: URL;
  headers: Record<string, string>;
  name: string;
  sha256: string | null;
}

function headerPairs(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of asArray(list)) {
    const text = asString(h);
    const at = text?.indexOf(':') ?? -1;
    if (text && at > 0) out[text.slice(0, at).trim()] = text.slice(at + 1).trim();
  }
  return out;
}

/** `drs://host[:port]/id` → where its bytes are. */
export async function resolveDrs(uri: string, options: FetchInputOptions): Promise<Resolved> {
  const match = /^drs:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new InputFetchError(`'${uri}' is not a hostname-based DRS URI`);
  const host = match[1] ?? '';
  const id = match[2] ?? '';
  const hostname = host.replace(/:\d+$/, '');
  const scheme = options.allowLoopbackHttp && LOOPBACK.has(hostname) ? 'http' : 'https';
  const objectUrl = new URL(`${scheme}://${host}/ga4gh/drs/v1/objects/${id}`);
  const object = asRecord(await getJson(objectUrl, options.signal));
  const sha256 =
    asArray(object.checksums)
      .map(asRecord)
      .find((c) => /^sha-?256$/i.test(asString(c.type) ?? ''))?.checksum ?? null;
  const name = asString(object.name) ?? id;
  for (const m of asArray(object.access_methods).map(asRecord)) {
    const type = asString(m.type);
    if (type !== 'https' && type !== 'http') continue;
    const direct = asRecord(m.access_url);
    const directUrl = asString(direct.url);
    if (directUrl) return { url: new URL(directUrl), headers: headerPairs(direct.headers), name, sha256: asString(sha256) };
    const accessId = asString(m.access_id);
    if (accessId) {
      const access = asRecord(await getJson(new URL(`${objectUrl.href}/access/${encodeURIComponent(accessId)}`), options.signal));
      const accessUrl = asString(access.url);
      if (accessUrl) return { url: new URL(accessUrl), headers: headerPairs(access.headers), name, sha256: asString(sha256) };
    }
  }
  throw new InputFetchError(`DRS object ${uri} has no https access method`);
}

/**
 * Streams one input to `dir`; returns its local name and path. A DRS object's sha-256, when
 * given, is checked, so a corrupted transfer fails here and not as a baffling VCF error.
 */
export async function fetchInput(ref: string, dir: string, options: FetchInputOptions): Promise<{ name: string; path: string }> {
  let resolved: Resolved;
  if (ref.startsWith('drs://')) {
    resolved = await resolveDrs(ref, options);
  } else {
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      throw new InputFetchError(`'${ref}' is not a URL`);
    }
    resolved = { url, headers: {}, name: decodeURIComponent(url.pathname.split('/').pop() ?? ''), sha256: null };
  }
  checkScheme(resolved.url, options.allowLoopbackHttp);
  let res: Response;
  try {
    res = await fetch(resolved.url, { headers: resolved.headers, signal: options.signal, redirect: 'follow' });
  } catch (error) {
    throw new InputFetchError(`Could not download ${resolved.url.origin}${resolved.url.pathname}: ${(error as Error).message}`);
  }
  if (!res.ok || res.body === null) {
    await res.body?.cancel().catch(() => undefined);
    throw new InputFetchError(`Downloading ${resolved.url.origin}${resolved.url.pathname} failed with HTTP ${res.status}`);
  }
  const name = safeName(resolved.name);
  const path = join(dir, name);
  const hash = createHash('sha256');
  let bytes = 0;
  const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > max) return done(new InputFetchError(`${name} is larger than ${max} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), meter, createWriteStream(path));
  if (resolved.sha256 !== null && hash.digest('hex') !== resolved.sha256.toLowerCase()) {
    throw new InputFetchError(`${name}: sha-256 does not match the DRS object's checksum`);
  }
  return { name, path };
}
