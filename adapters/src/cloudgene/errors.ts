/**
 * Cloudgene HTTP failures → BackendError kinds the run engine acts on (digest §1.7).
 */
import { BackendError, type BackendErrorKind } from '../types';
import { parseRetryAfter } from '../http/errors';
import { asString, isRecord } from './wire';
import { htmlToText } from './text';

/** What the failed call was about: the same status means different things per route. */
export type CallContext = 'api' | 'job' | 'submit' | 'download';

const MAX_MESSAGE_CHARS = 500;

/**
 * Cloudgene's own words from an error body: `{"message": ...}` for JSON errors, but a few paths
 * (other submit exceptions, Micronaut defaults, proxies) answer with plain text or HTML.
 */
export function backendMessage(body: string): string {
  const trimmed = body.trim();
  if (trimmed === '') return '';
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (isRecord(parsed)) {
      const message = asString(parsed.message) ?? asString(parsed.error) ?? asString(parsed.msg);
      if (message !== null) return truncate(htmlToText(message));
    }
  } catch {
    // not JSON: fall through to plain text
  }
  return truncate(htmlToText(trimmed));
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

export function kindForStatus(status: number, message: string, context: CallContext): BackendErrorKind {
  if (context === 'download') {
    // The hash is a capability that is spent (400 "number of max downloads exceeded.") or gone (404).
    if (status === 400 || status === 404 || status === 410) return 'gone';
    // A 403 here comes from an expired pre-signed S3 URL, not from our token: a fresh GET fixes it.
    if (status === 429) return 'rate_limited';
    if (status === 401 || status === 403 || status === 408 || status >= 500) return 'unreachable';
    return 'rejected';
  }
  if (status === 503) {
    return /maintenance/i.test(message) ? 'maintenance' : 'unreachable';
  }
  if (status >= 500 || status === 408) return 'unreachable';
  // A gateway's rate limit: nothing was created, and its Retry-After says when to come back.
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'auth';
  if (status === 400 && /jobs? per user/i.test(message)) return 'capacity';
  if (status === 404 && context === 'job') return 'not_found';
  return 'rejected';
}

/** Removes the token from any text that might end up in a log, should a server ever echo it. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join('[redacted]');
}

export function httpError(
  what: string,
  status: number,
  body: string,
  context: CallContext,
  secret?: string,
  retryAfter?: string | null,
): BackendError {
  const message = backendMessage(body);
  const kind = kindForStatus(status, message, context);
  const detail = message === '' ? '' : `: ${message}`;
  return new BackendError(kind, redact(`Cloudgene ${what} failed with HTTP ${status}${detail}`, secret), status, {
    retryAfterMs: parseRetryAfter(retryAfter),
  });
}

export function networkError(what: string, error: unknown, timeoutMs: number, secret?: string): BackendError {
  const reason = isTimeout(error) ? `timed out after ${timeoutMs} ms` : describeNetworkError(error);
  return new BackendError('unreachable', redact(`Cloudgene ${what} unreachable: ${reason}`, secret), null, {
    cause: error,
  });
}

export function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici wraps the socket error ("connect ECONNREFUSED 127.0.0.1:9") in a bare "fetch failed".
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return error.message;
}
