/**
 * DNAstack HTTP failures → BackendError kinds: eWES `WorkbenchApiError {timestamp, msg,
 * error_code, trace_id}` and the wallet's OAuth 2 errors `{error, error_description}`.
 */
import type { BackendErrorKind } from '../types';

/** OAuth 2 token endpoint errors (RFC 6749 §5.2, RFC 8707): every one is a configuration or credential problem. */
const OAUTH_REFUSALS = /\b(invalid_client|unauthorized_client|invalid_grant|invalid_scope|invalid_target|invalid_request|unsupported_grant_type|access_denied)\b/;

export function classifyWallet(status: number, message: string, _context: string, htmlBody: boolean): BackendErrorKind {
  if (status === 408 || status >= 500 || htmlBody) return 'unreachable';
  if (status === 401 || status === 403 || OAUTH_REFUSALS.test(message)) return 'auth';
  return 'rejected';
}

export function classifyEwes(status: number, _message: string, context: string, htmlBody: boolean): BackendErrorKind {
  if (context.startsWith('download')) {
    if (status === 404 || status === 410) return 'gone';
    // A signed bucket URL that stopped working has expired: the next run read brings fresh ones.
    if ((status === 401 || status === 403) && context === 'download:signed') return 'unreachable';
    if (status === 401 || status === 403) return 'auth';
    if (status === 408 || status >= 500) return 'unreachable';
    return 'rejected';
  }
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status >= 500) return 'unreachable';
  if (status === 404) {
    if (htmlBody) return 'unreachable';
    // A 404 at submit names an unknown workflow or engine, not a missing run.
    return context === 'run' ? 'not_found' : 'rejected';
  }
  return 'rejected';
}
