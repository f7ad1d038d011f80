/**
 * Turning Cloudgene's HTML-flavoured messages into plain text and numbers.
 *
 * Step messages are rendered from HTML templates (progress bars, `<b>` labels) and Cloudgene
 * HTML-escapes submitted text, so what the broker shows through WES must be stripped and decoded.
 */

import { decodeEntities, htmlToText } from '../http/html';

export { decodeEntities, htmlToText };

/**
 * Fraction done (0..1) of one Cloudgene progress-bar message, null when the message is not one.
 * The label's "(k/n)" counts finished tasks of the Nextflow process; the `bg-success` bar width is
 * the same number in percent and is the fallback for labels without a count.
 */
export function progressFraction(html: string): number | null {
  if (!/class\s*=\s*"[^"]*\bprogress\b/i.test(html)) return null;
  const label = htmlToText(html);
  const count = /\((\d+)\s*\/\s*(\d+)\)/.exec(label);
  if (count) {
    const done = Number(count[1]);
    const total = Number(count[2]);
    if (total > 0) return clamp01(done / total);
  }
  const bar = /class\s*=\s*"[^"]*\bbg-success\b[^"]*"[^>]*style\s*=\s*"[^"]*width:\s*([0-9.]+)%/i.exec(html);
  if (bar) return clamp01(Number(bar[1]) / 100);
  return null;
}

function clamp01(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

/**
 * Exact byte count from Cloudgene's human size, or null.
 * Apache `byteCountToDisplaySize` truncates everything from 1 KB up ("82 MB"), so only the
 * "<n> bytes" form is exact; guessing the rest would make the broker's size checks lie.
 */
export function exactSize(size: string | null): number | null {
  if (size === null) return null;
  const match = /^\s*(\d+)\s*bytes?\s*$/i.exec(size);
  return match ? Number(match[1]) : null;
}
