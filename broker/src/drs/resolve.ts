/**
 * `drs://` inputs of a WES run. The broker's own objects are used in place (same bytes, no copy,
 * the caller's right to read them checked as on GetObject). Objects on another DRS server are
 * resolved as DRS 1.5 says: the URI names the server (hostname-based) or a prefix resolved to a URL
 * pattern (compact, through the configured prefixes or identifiers.org), the server's
 * service-info confirms it is DRS, the object's metadata comes from GetObject (with the caller's
 * Passport when the server takes PassportAuth), its bytes from an `https` access method (through
 * `/access` when it has an `access_id`), streamed into the blob store and checked against the
 * object's own checksums.
 */
import type { Context } from 'hono';
import type { AccessMethod, AccessURL, Authorizations, DrsObject } from '@ibroker/api-spec/index';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, badRequest } from '../http/errors';
import { assertPublicHost, printable, reuseBlob, stageUrl, type StagedInput } from '../runs/inputs';
import { drsCaller, readVerdict } from './caller';

export type DrsUri =
  | { kind: 'hostname'; host: string; id: string }
  | { kind: 'compact'; prefix: string; accession: string };

/**
 * Hostname-based `drs://host[:port]/id` (the id is percent-encoded, so it holds no `:`), or
 * compact `drs://[provider/]namespace:accession`, split at the first `:` after `drs://`.
 */
export function parseDrsUri(uri: string): DrsUri {
  const rest = uri.slice('drs://'.length);
  if (!uri.startsWith('drs://') || rest === '') throw badRequest(`'${printable(uri)}' is not a drs:// URI.`);
  const host = /^([A-Za-z0-9.-]+(?::\d{1,5})?)\/([^/?#]+)$/.exec(rest);
  if (host && !host[2]!.includes(':')) {
    let id: string;
    try {
      id = decodeURIComponent(host[2]!);
    } catch {
      throw badRequest(`The object id in '${printable(uri)}' is not correctly percent-encoded.`);
    }
    return { kind: 'hostname', host: host[1]!.toLowerCase(), id };
  }
  const compact = /^((?:[A-Za-z0-9._]+\/)?[A-Za-z0-9._]+):(.+)$/.exec(rest);
  if (compact) return { kind: 'compact', prefix: compact[1]!.toLowerCase(), accession: compact[2]! };
  throw badRequest(
    `'${printable(uri)}' is neither a hostname-based DRS URI (drs://<host>/<id>) nor a compact one (drs://<prefix>:<accession>).`,
  );
}

const METADATA_TIMEOUT_MS = 15_000;
const MAX_METADATA_BYTES = 1024 * 1024;
const PATTERN_TTL_MS = 24 * 3600_000;

/** identifiers.org URL patterns, cached for a day as the DRS spec recommends. */
const patternCache = new Map<string, { pattern: string; at: number }>();

interface RemoteCall {
  allowPrivate: boolean;
  allowHttp: boolean;
}

async function getJson(url: string, what: string, init: RequestInit, o: RemoteCall): Promise<{ status: number; body: unknown }> {
  const u = new URL(url);
  if (u.protocol !== 'https:' && !(o.allowHttp && u.protocol === 'http:')) throw badRequest(`${what}: ${printable(url)} must use https.`);
  if (!o.allowPrivate) await assertPublicHost(u, what);
  let res: Response;
  try {
    res = await fetch(u, { ...init, redirect: 'follow', signal: AbortSignal.timeout(METADATA_TIMEOUT_MS) });
  } catch (err) {
    throw badRequest(`${what}: ${printable(url)} could not be reached (${(err as Error).message}).`);
  }
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    size += next.value.byteLength;
    if (size > MAX_METADATA_BYTES) {
      await reader?.cancel();
      throw badRequest(`${what}: ${printable(url)} answered with more than ${MAX_METADATA_BYTES} bytes of metadata.`);
    }
    chunks.push(next.value);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  } catch {
    throw badRequest(`${what}: ${printable(url)} answered HTTP ${res.status} with something that is not JSON.`);
  }
}

const msgOf = (body: unknown): string => {
  const msg = (body as { msg?: unknown } | null)?.msg;
  return typeof msg === 'string' ? `: ${printable(msg)}` : '';
};

/** The URL of the object's DRS endpoint (`.../ga4gh/drs/v1/objects/<id>`). */
async function objectUrl(deps: AppDeps, uri: string, parts: DrsUri, o: RemoteCall): Promise<string> {
  const scheme = o.allowHttp && /^(127\.|localhost|\[::1\])/.test(parts.kind === 'hostname' ? parts.host : '') ? 'http' : 'https';
  if (parts.kind === 'hostname') return `${scheme}://${parts.host}/ga4gh/drs/v1/objects/${encodeURIComponent(parts.id)}`;
  const configured = deps.config.drs.compactPrefixes[parts.prefix];
  let pattern = configured;
  if (!pattern && deps.config.drs.identifiersOrgUrl) {
    const cacheKey = `${deps.config.drs.identifiersOrgUrl}|${parts.prefix}`;
    const cached = patternCache.get(cacheKey);
    if (cached && Date.now() - cached.at < PATTERN_TTL_MS) pattern = cached.pattern;
    else {
      pattern = await identifiersOrgPattern(deps.config.drs.identifiersOrgUrl, parts.prefix, o);
      patternCache.set(cacheKey, { pattern, at: Date.now() });
    }
  }
  if (!pattern) {
    const known = Object.keys(deps.config.drs.compactPrefixes);
    throw badRequest(
      `'${printable(uri)}' uses the compact prefix '${parts.prefix}', which this broker cannot resolve` +
        `${known.length ? ` (it knows: ${known.join(', ')})` : ' (no compact prefixes are configured)'}; use the drs://<host>/<id> form.`,
    );
  }
  return pattern.replace('{$id}', encodeURIComponent(parts.accession));
}

/** identifiers.org: prefix -> namespace -> its first resource's `urlPattern`. */
async function identifiersOrgPattern(base: string, prefix: string, o: RemoteCall): Promise<string> {
  const what = `identifiers.org (prefix '${prefix}')`;
  const ns = await getJson(`${base}/restApi/namespaces/search/findByPrefix?prefix=${encodeURIComponent(prefix)}`, what, {}, o);
  const nsUrl = (ns.body as { _links?: { self?: { href?: unknown } } } | null)?._links?.self?.href;
  const nsId = typeof nsUrl === 'string' ? /\/(\d+)$/.exec(nsUrl)?.[1] : undefined;
  if (ns.status !== 200 || !nsId) throw badRequest(`The compact DRS prefix '${prefix}' is not registered at identifiers.org.`);
  const res = await getJson(`${base}/restApi/resources/search/findAllByNamespaceId?id=${nsId}`, what, {}, o);
  const resources = (res.body as { _embedded?: { resources?: { urlPattern?: unknown }[] } } | null)?._embedded?.resources ?? [];
  const pattern = resources.map((r) => r.urlPattern).find((p): p is string => typeof p === 'string' && p.includes('{$id}'));
  if (!pattern) throw badRequest(`identifiers.org has no URL pattern for the compact DRS prefix '${prefix}'.`);
  return pattern;
}

/**
 * An `https` method: one with an `access_id` first, because `/access` answers with a URL (and
 * headers) made to be fetched as it is, while an `access_url` in the object often needs the same
 * credentials as the DRS call, which the broker does not pass on.
 */
function pickAccess(object: DrsObject): AccessMethod | undefined {
  const https = (object.access_methods ?? []).filter((m) => m.type === 'https' && m.available !== false);
  return https.find((m) => m.access_id) ?? https.find((m) => m.access_url?.url);
}

/** `Name: value` strings of an AccessURL as a header map (invalid ones dropped). */
function headersOf(access: AccessURL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of access.headers ?? []) {
    const i = h.indexOf(':');
    if (i > 0 && /^[A-Za-z0-9-]+$/.test(h.slice(0, i))) out[h.slice(0, i)] = h.slice(i + 1).trim();
  }
  return out;
}

async function remoteInput(deps: AppDeps, c: Context<AppEnv>, uri: string, parts: DrsUri, maxBytes: number): Promise<StagedInput> {
  const o: RemoteCall = { allowPrivate: deps.allowPrivateInputUrls ?? false, allowHttp: deps.allowPrivateInputUrls ?? false };
  const url = await objectUrl(deps, uri, parts, o);
  const base = url.slice(0, url.lastIndexOf('/objects/'));
  const info = await getJson(`${base}/service-info`, `the DRS server of '${printable(uri)}'`, {}, o);
  const artifact = (info.body as { type?: { artifact?: unknown } } | null)?.type?.artifact;
  if (info.status !== 200 || artifact !== 'drs') {
    throw badRequest(`'${printable(uri)}': ${base} does not answer as a GA4GH DRS server (service-info type.artifact is not 'drs').`);
  }

  // The caller's Passport goes only where the server says it takes passports; the caller's own
  // token never leaves the broker (AAI: tokens are not passed on to third parties).
  const passport = await deps.access.passportToken(c);
  let withPassport = false;
  if (passport) {
    const opts = await getJson(url, `the DRS server of '${printable(uri)}'`, { method: 'OPTIONS' }, o).catch(() => null);
    const types = (opts?.body as Authorizations | null)?.supported_types ?? [];
    withPassport = opts?.status === 200 && types.includes('PassportAuth');
  }
  const json = { 'Content-Type': 'application/json' };
  const meta = withPassport
    ? await getJson(url, `object '${printable(uri)}'`, { method: 'POST', headers: json, body: JSON.stringify({ passports: [passport] }) }, o)
    : await getJson(url, `object '${printable(uri)}'`, {}, o);
  if (meta.status === 401 || meta.status === 403) {
    throw new ApiError(403, `The DRS server of '${printable(uri)}' refused access to the object (HTTP ${meta.status}${msgOf(meta.body)}).`);
  }
  if (meta.status !== 200) throw badRequest(`The DRS server of '${printable(uri)}' answered HTTP ${meta.status}${msgOf(meta.body)}.`);
  const object = meta.body as DrsObject;
  if (object.contents) throw badRequest(`'${printable(uri)}' is a DRS bundle; name the VCF objects it contains instead.`);
  const method = pickAccess(object);
  if (!method) throw badRequest(`'${printable(uri)}' offers no https access method the broker can use.`);
  let access = method.access_url;
  if (!access) {
    const accessUrl = `${url}/access/${encodeURIComponent(method.access_id!)}`;
    const got = withPassport
      ? await getJson(accessUrl, `access to '${printable(uri)}'`, { method: 'POST', headers: json, body: JSON.stringify({ passports: [passport] }) }, o)
      : await getJson(accessUrl, `access to '${printable(uri)}'`, {}, o);
    if (got.status !== 200 || typeof (got.body as AccessURL | null)?.url !== 'string') {
      throw badRequest(`The DRS server of '${printable(uri)}' gave no access URL (HTTP ${got.status}${msgOf(got.body)}).`);
    }
    access = got.body as AccessURL;
  }
  const name = object.name ?? new URL(access.url).pathname.split('/').pop() ?? '';
  const staged = await stageUrl(deps.blobs, access.url, maxBytes, { ...o, headers: headersOf(access), name });
  const expected = new Map((object.checksums ?? []).map((c) => [c.type.toLowerCase().replace(/^sha256$/, 'sha-256'), c.checksum.toLowerCase()]));
  const mismatch =
    (expected.has('sha-256') && expected.get('sha-256') !== staged.blob.sha256) || (expected.has('md5') && expected.get('md5') !== staged.blob.md5);
  if (mismatch || (object.size !== undefined && object.size !== staged.blob.size)) {
    await deps.blobs.delete(staged.blob.key);
    throw badRequest(`The bytes fetched for '${printable(uri)}' do not match the checksums (or size) its DRS server gives; nothing was kept.`);
  }
  return staged;
}

/** One `drs://` input, staged for the run `c`'s caller is submitting. */
export async function stageDrsInput(deps: AppDeps, c: Context<AppEnv>, uri: string, maxBytes: number): Promise<StagedInput> {
  const parts = parseDrsUri(uri);
  if (parts.kind === 'hostname' && parts.host === deps.urls.drsHost.toLowerCase()) {
    const caller = await drsCaller(deps, c, []);
    const object = await deps.objects.get(parts.id);
    const verdict = readVerdict(deps, caller, parts.id, object);
    if (!verdict.allow) {
      // WES declares no 404 for POST /runs: an input that cannot be found is a bad request.
      if (verdict.error.status === 403) throw verdict.error;
      throw badRequest(`Input '${printable(uri)}' was not found: no object of this broker has that id.`);
    }
    if (object!.blobKey === null) throw badRequest(`Input '${printable(uri)}' is a bundle; name the VCF objects it contains instead.`);
    return reuseBlob(deps.blobs, object!.name.split('/').pop()!, { key: object!.blobKey, size: object!.size, sha256: object!.sha256, md5: object!.md5 });
  }
  return remoteInput(deps, c, uri, parts, maxBytes);
}
