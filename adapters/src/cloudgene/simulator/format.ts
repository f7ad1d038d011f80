import { createHash, randomBytes, randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

/** Cloudgene's download hash: SHA-256 hex of name + size + random (LocalWorkspace.createDownload). */
export function downloadHash(name: string, size: number): string {
  return createHash('sha256').update(`${name}${size}${randomBytes(16).toString('hex')}`).digest('hex');
}

/** Apache FileUtils.byteCountToDisplaySize: integer division, no decimals. */
export function displaySize(bytes: number): string {
  const KB = 1024;
  const MB = KB * 1024;
  const GB = MB * 1024;
  if (bytes >= GB) return `${Math.floor(bytes / GB)} GB`;
  if (bytes >= MB) return `${Math.floor(bytes / MB)} MB`;
  if (bytes >= KB) return `${Math.floor(bytes / KB)} KB`;
  return `${bytes} bytes`;
}

/** Java's `%,d`: thousands separated by commas (UTILS uses it in the QC statistics). */
export function thousands(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** CG3 JobService.createId: `job-yyyyMMdd-HHmmss-SSS`. */
export function jobIdFor(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number, w = 2): string => n.toString().padStart(w, '0');
  return (
    `job-${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${p(d.getUTCMilliseconds(), 3)}`
  );
}

/** imputationbot parses `expire` with ISO_DATE_TIME into a ZonedDateTime, so an explicit offset is required. */
export function isoWithOffset(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', '+00:00');
}

// HTML 4 names for U+00A0..U+00FF, as commons-lang 2 StringEscapeUtils.escapeHtml emits them.
const LATIN1 =
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro ' +
  'para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil ' +
  'Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave ' +
  'Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml ' +
  'igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute ' +
  'thorn yuml';
const LATIN1_NAMES = LATIN1.split(' ');

/** Cloudgene passes every text form value through commons-lang 2 `escapeHtml` (FormUtil), passwords included. */
export function escapeHtml(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (code >= 0xa0 && code <= 0xff) out += `&${LATIN1_NAMES[code - 0xa0]};`;
    else if (code > 0x7f) {
      // commons-lang 2 works on UTF-16 units, so astral characters come out as two numeric entities.
      for (let i = 0; i < ch.length; i++) out += `&#${ch.charCodeAt(i)};`;
    } else out += ch;
  }
  return out;
}

/** Deterministic 32-bit hash, so "simulated" properties of a site depend only on the data. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Deterministic value in [0, 1) derived from a key. */
export function unitHash(text: string): number {
  return hash32(text) / 0x100000000;
}
