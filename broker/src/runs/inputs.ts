/**
 * Input files of a run: names checked, bytes streamed into the blob store with the VCF
 * inspector fed in the same pass, and https inputs fetched the same way.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createVcfInspector, VcfFormatError, type VcfSummary } from '@ibroker/adapters/vcf/inspect';
import type { FsBlobStore, StoredBlob } from '../blobs/store';
import { ApiError, badRequest } from '../http/errors';

export interface StagedInput {
  name: string;
  blob: StoredBlob;
  summary: Promise<VcfSummary>;
  /** The bytes of an object the broker already holds (a `drs://` input): never removed on refusal. */
  reused?: boolean;
}

/**
 * WES lets attachment names carry sub-directories but never `..`; Cloudgene wants flat names
 * ending in `.vcf.gz`. Anything beyond a plain portable file name is refused.
 */
export function checkFileName(raw: string): string {
  if (!raw) throw badRequest('Every workflow_attachment part needs a filename in its Content-Disposition header.');
  if (raw.length > 200) throw badRequest('Attachment file names must be at most 200 characters.');
  if (raw.includes('..') || raw.startsWith('/') || raw.includes('\\') || /^[A-Za-z]:/.test(raw)) {
    throw badRequest(`Attachment name '${printable(raw)}' is not allowed: no '..', absolute paths or backslashes.`);
  }
  const base = raw.split('/').pop() ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(base)) {
    throw badRequest(
      `Attachment name '${printable(raw)}' has characters that are not allowed; use letters, digits, '.', '_', '-' and '+'.`,
    );
  }
  return base;
}

export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}

export async function stageStream(blobs: FsBlobStore, name: string, body: Readable, maxBytes: number): Promise<StagedInput> {
  const inspector = createVcfInspector();
  const blob = await blobs.write(body, { maxBytes, tees: [inspector.stream] });
  return { name, blob, summary: inspector.result };
}

/** Addresses an input URL may never reach (SSRF): loopback, private, link-local, metadata. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
// BlockList checks IPv4-mapped IPv6 (any spelling, e.g. ::ffff:c0a8:1) against the IPv4 rules.
for (const [net, prefix] of [['::', 127], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return true;
  return PRIVATE.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** Refuses URLs whose host is (or resolves to) a private, loopback or link-local address (SSRF). */
export async function assertPublicHost(u: URL, what: string): Promise<void> {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (!addresses.length) throw badRequest(`The host of ${what} could not be resolved.`);
  if (addresses.some(isPrivateAddress)) throw badRequest(`${what[0]!.toUpperCase()}${what.slice(1)} points to a private network address.`);
}

export interface FetchOptions {
  allowPrivate: boolean;
  allowHttp: boolean;
  timeoutMs?: number;
  /** Extra request headers (a DRS AccessURL's `headers`). */
  headers?: Record<string, string>;
  /** The input's name, when the URL's last segment is not it (a signed DRS link). */
  name?: string;
}

/** Fetches an https input. Private and loopback targets are refused unless allowed (SSRF). */
export async function stageUrl(blobs: FsBlobStore, url: string, maxBytes: number, options: FetchOptions): Promise<StagedInput> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badRequest(`'${printable(url)}' is neither the name of an attachment nor a valid URL.`);
  }
  if (u.protocol !== 'https:' && !(options.allowHttp && u.protocol === 'http:')) {
    throw badRequest(`Input URL '${printable(url)}' must use https.`);
  }
  if (u.username || u.password) throw badRequest('Input URLs must not carry credentials.');
  const name = checkFileName(options.name ?? decodeURIComponent(u.pathname.split('/').pop() ?? ''));
  if (!options.allowPrivate) await assertPublicHost(u, `input URL '${printable(url)}'`);
  let res: Response;
  try {
    res = await fetch(u, { redirect: 'error', headers: options.headers ?? {}, signal: AbortSignal.timeout(options.timeoutMs ?? 600_000) });
  } catch (err) {
    throw badRequest(`Input URL '${printable(url)}' could not be fetched: ${(err as Error).message}`);
  }
  if (!res.ok || !res.body) throw badRequest(`Input URL '${printable(url)}' answered HTTP ${res.status}.`);
  return stageStream(blobs, name, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), maxBytes);
}

/** An input whose bytes the broker already stores: inspected in place, never copied. */
export function reuseBlob(blobs: FsBlobStore, name: string, blob: StoredBlob): StagedInput {
  const inspector = createVcfInspector();
  const source = blobs.read(blob.key);
  source.on('error', (err) => inspector.stream.destroy(err));
  source.pipe(inspector.stream);
  inspector.result.catch(() => source.destroy());
  return { name, blob, summary: inspector.result, reused: true };
}

/** Waits for the inspector; a file that is not a bgzipped VCF is the uploader's error. */
export async function summaryOf(input: StagedInput): Promise<VcfSummary> {
  try {
    return await input.summary;
  } catch (err) {
    if (err instanceof VcfFormatError) throw badRequest(`File '${input.name}': ${err.message}`);
    throw new ApiError(400, `File '${input.name}' could not be read as a bgzipped VCF.`);
  }
}
