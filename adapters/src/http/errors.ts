/**
 * Pieces every adapter needs to turn a failed HTTP exchange into a message a person can act on,
 * without ever putting a secret into it.
 */
import { asString, isRecord } from './json';
import { looksLikeHtml, pageToText } from './html';

const MAX_MESSAGE_CHARS = 500;

/** Removes every secret (token, client secret) from text that may end up in a log. */
export function redact(text: string, secrets: readonly (string | null | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    // Very short "secrets" would shred ordinary words; real tokens are long.
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

export function truncate(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The service's own words from an error body: GA4GH `{msg}`, DNAstack `{msg, error_code}`,
 * OAuth `{error, error_description}`, Spring `{message}` / `{error}`, problem+json `{detail}`;
 * an HTML page (proxy, framework default) becomes its text.
 */
export function messageFromBody(body: string): string {
  const trimmed = body.trim();
  if (trimmed === '') return '';
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (isRecord(parsed)) {
      const description = asString(parsed.error_description);
      const code = asString(parsed.error);
      if (description !== null && code !== null) return truncate(`${code}: ${description}`);
      const message =
        asString(parsed.msg) ?? asString(parsed.message) ?? asString(parsed.detail) ?? description ?? code ?? asString(parsed.title);
      if (message !== null) return truncate(message.trim());
    }
    if (typeof parsed === 'string') return truncate(parsed);
  } catch {
    // not JSON: plain text or HTML
  }
  return truncate(looksLikeHtml(trimmed) ? pageToText(trimmed) : trimmed.replace(/\s+/g, ' '));
}

export function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** undici wraps the socket error ("connect ECONNREFUSED 127.0.0.1:9") in a bare "fetch failed". */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return error.message;
}

/** True when fetch refused to follow a redirect (`redirect: 'error'`). */
export function isRedirectRefusal(error: unknown): boolean {
  const cause = error instanceof Error ? (error as Error & { cause?: unknown }).cause : undefined;
  return cause instanceof Error && /redirect/i.test(cause.message);
}

/** Upper bound on a server's `Retry-After`: a day. Longer is a misconfiguration, not advice. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * `Retry-After` in ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Null when absent or
 * unreadable; a date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}
