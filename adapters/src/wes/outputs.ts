/**
 * `RunLog.outputs` → RemoteOutputs. WES leaves the shape to the node, so the recognised ones are:
 * - this broker's own `{files: [{name, size, sha256, md5, mime_type, url, drs_uri?}]}`;
 * - WESkit's `{filesystem: [relative paths], S3: [pre-signed URLs]}`;
 * - a map of output name → URL, list of URLs, or CWL `File` objects (`location`/`path`), as
 *   Cromwell, Toil and DNAstack eWES write them, nested lists included.
 * http(s) URLs are downloadable; cloud-bucket URIs (`gs://`, `s3://`, Azure) and paths on the
 * node's own disk are outputs the broker must register by reference. Nothing is silently dropped.
 */
import { posix } from 'node:path';
import type { Checksum, OutputReference, RemoteOutput } from '../types';
import { asArray, asNumber, asRecord, asString, isRecord } from '../http/json';

interface Candidate {
  /** The output's key in the map, used to tell apart two files of the same name. */
  key: string;
  location: string;
  name: string | null;
  size: number | null;
  checksums: Checksum[];
}

/** Storage kind of a location; `null` for http(s), which the adapter streams itself. */
export function referenceType(location: string): OutputReference['type'] | null {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(location)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'http':
    case 'https':
      return null;
    case 's3':
      return 's3';
    case 'gs':
      return 'gs';
    case 'az':
    case 'azure':
    case 'abfs':
    case 'abfss':
    case 'wasb':
    case 'wasbs':
      return 'azure';
    case 'drs':
      return 'drs';
    case 'file':
    case undefined:
      return 'file';
    default:
      return 'other';
  }
}

function lastSegment(location: string): string {
  let path = location;
  try {
    path = decodeURIComponent(new URL(location).pathname);
  } catch {
    path = location.split('?')[0] ?? location;
  }
  const base = posix.basename(path.replace(/^file:/, ''));
  return base === '' ? 'output' : base;
}

function checksumsOf(file: Record<string, unknown>): Checksum[] {
  const out: Checksum[] = [];
  const sha256 = asString(file.sha256);
  const md5 = asString(file.md5);
  if (sha256) out.push({ type: 'sha-256', checksum: sha256.toLowerCase() });
  if (md5) out.push({ type: 'md5', checksum: md5.toLowerCase() });
  // CWL writes `sha1$<hex>`.
  const cwl = asString(file.checksum);
  const match = cwl ? /^([a-z0-9-]+)\$([0-9a-f]+)$/i.exec(cwl) : null;
  if (match) out.push({ type: (match[1] ?? '').toLowerCase(), checksum: (match[2] ?? '').toLowerCase() });
  for (const c of asArray(file.checksums)) {
    const type = asString(asRecord(c).type);
    const checksum = asString(asRecord(c).checksum);
    if (type && checksum) out.push({ type, checksum });
  }
  return out;
}

/** Walks one value of a generic output map. */
function collect(key: string, value: unknown, into: Candidate[], depth = 0): void {
  if (depth > 8) return;
  if (typeof value === 'string') {
    // Only things that look like locations: an output may also be a number or a message.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^file:/i.test(value)) {
      // A key that is the file's own path (`statistics/snps-excluded.txt`) keeps its folders.
      const name = depth === 0 && (key === lastSegment(value) || key.endsWith(`/${lastSegment(value)}`)) ? key : null;
      into.push({ key, location: value, name, size: null, checksums: [] });
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(key, item, into, depth + 1);
    return;
  }
  if (!isRecord(value)) return;
  const location = asString(value.url) ?? asString(value.location) ?? asString(value.uri) ?? asString(value.path);
  if (location !== null) {
    into.push({
      key,
      location,
      name: asString(value.name) ?? asString(value.basename),
      size: asNumber(value.size),
      checksums: checksumsOf(value),
    });
    // A CWL File's secondaryFiles (indexes) are outputs too.
    collect(key, value.secondaryFiles, into, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(value)) collect(`${key}/${k}`, v, into, depth + 1);
}

/** WESkit: every file is on the node's disk; those also in S3 come with a pre-signed URL. */
function weskitCandidates(outputs: Record<string, unknown>): Candidate[] {
  const entry = (name: string): unknown => Object.entries(outputs).find(([k]) => k.toLowerCase() === name)?.[1];
  const paths = asArray(entry('filesystem')).flatMap((p) => (typeof p === 'string' ? [p] : []));
  const urls = asArray(entry('s3')).flatMap((u) => (typeof u === 'string' ? [u] : []));
  const used = new Set<string>();
  const out: Candidate[] = paths.map((path) => {
    const clean = path.replace(/^file:/, '').replace(/^\.?\//, '');
    const url = urls.find((u) => !used.has(u) && lastPath(u).endsWith(`/${clean}`));
    if (url) used.add(url);
    return { key: 'filesystem', location: url ?? `file:${clean}`, name: clean, size: null, checksums: [] };
  });
  for (const url of urls) if (!used.has(url)) out.push({ key: 'S3', location: url, name: null, size: null, checksums: [] });
  return out;
}

function lastPath(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return url;
  }
}

function isWeskitShape(outputs: Record<string, unknown>): boolean {
  const keys = Object.keys(outputs).map((k) => k.toLowerCase());
  return keys.length > 0 && keys.every((k) => k === 'filesystem' || k === 's3');
}

function isBrokerShape(outputs: Record<string, unknown>): boolean {
  const files = outputs.files;
  return Array.isArray(files) && files.length > 0 && files.every((f) => isRecord(f) && typeof f.url === 'string');
}

/** Names are unique per run (the broker stores one file per name): a clash takes the output key. */
function uniqueNames(candidates: Candidate[]): { candidate: Candidate; name: string }[] {
  const taken = new Set<string>();
  return candidates.map((candidate) => {
    const base = candidate.name ?? lastSegment(candidate.location);
    let name = base;
    if (taken.has(name)) name = `${candidate.key}/${base}`;
    for (let i = 2; taken.has(name); i++) name = `${candidate.key}/${i}/${base}`;
    taken.add(name);
    return { candidate, name };
  });
}

export function parseOutputs(outputs: unknown): RemoteOutput[] {
  if (!isRecord(outputs)) return [];
  let candidates: Candidate[];
  if (isBrokerShape(outputs)) {
    candidates = asArray(outputs.files).map((f) => {
      const file = asRecord(f);
      return {
        key: 'files',
        location: asString(file.url) ?? '',
        name: asString(file.name),
        size: asNumber(file.size),
        checksums: checksumsOf(file),
      };
    });
  } else if (isWeskitShape(outputs)) {
    candidates = weskitCandidates(outputs);
  } else {
    candidates = [];
    for (const [key, value] of Object.entries(outputs)) collect(key, value, candidates);
  }
  // De-duplicate locations listed under two keys (an index also listed as a secondary file).
  const seen = new Set<string>();
  const unique = candidates.filter((c) => c.location !== '' && !seen.has(c.location) && seen.add(c.location));
  return uniqueNames(unique).map(({ candidate, name }) => {
    const type = referenceType(candidate.location);
    const output: RemoteOutput = { name, size: candidate.size, ref: candidate.location };
    if (candidate.checksums.length > 0) output.checksums = candidate.checksums;
    if (type !== null) {
      output.reference = { url: candidate.location, type };
      if (candidate.checksums.length > 0) output.reference.checksums = candidate.checksums;
    }
    return output;
  });
}
