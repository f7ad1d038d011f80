/**
 * HTML to plain text, for messages that arrive as markup: Cloudgene step messages, error pages
 * of proxies and frameworks (Flask's 404 page, a gateway's 502), so what the broker shows through
 * WES is text a person can read.
 */

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity: string, body: string) => {
    if (body.startsWith('#')) {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
  });
}

export function htmlToText(html: string): string {
  const text = html
    // Block-level breaks become line breaks so "<b>Imputation (1/4)</b><br><div>" keeps its label alone.
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/?(p|div|li|tr|h[1-6])\b[^<>]*>/gi, '\n')
    // Only real tags: QC texts carry bare comparisons ("< 10000 SNPs", "call rate < 90%").
    .replace(/<!--[\s\S]*?-->|<\/?[a-z][a-z0-9-]*\b[^<>]*>/gi, '');
  return decodeEntities(text)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t\f\v]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * A whole HTML page (a proxy's 502, Flask's 404, a login page) as one line of text: scripts,
 * styles and the head are dropped, so the message says what the page says.
 */
export function pageToText(html: string): string {
  const body = html
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!doctype[^>]*>/gi, ' ');
  return htmlToText(body).replace(/\s+/g, ' ').trim();
}

/** True when a body is an HTML document rather than the JSON an API promised. */
export function looksLikeHtml(text: string): boolean {
  return /^\s*(<!doctype html|<html\b|<head\b|<body\b|<title\b|<h1\b|<p\b)/i.test(text);
}
