/**
 * WES HTTP failures → BackendError kinds (GA4GH WES 1.1 `ErrorResponse {msg, status_code}`,
 * WESkit's Flask and flask-jwt-extended answers, proxies in front of either).
 */
import type { BackendErrorKind } from '../types';

/**
 * What a failed call was about; the same status means different things per route.
 * - `run`: a run's log, status, tasks or cancel: 404 is `not_found`.
 * - `submit`: 404 means the route or the workflow is unknown, not a missing job.
 * - `download` / `download:signed`: a result file, fetched with our token or by its own signature.
 */
export type WesContext = 'api' | 'run' | 'submit' | 'download' | 'download:signed';

/**
 * flask-jwt-extended answers a malformed or wrongly signed bearer token with 422 (not 401):
 * "Signature verification failed", "Not enough segments", "Invalid header string"...
 */
const JWT_REFUSAL = /signature|segments|invalid (header|token|crypto)|token (has )?expired|decod|jwt|authorization header|bearer/i;

export function classifyWes(status: number, message: string, context: string, htmlBody: boolean): BackendErrorKind {
  if (context.startsWith('download')) {
    if (status === 404 || status === 410) return 'gone';
    // A signed URL that stopped working has expired: the next RunLog signs a fresh one.
    if ((status === 401 || status === 403) && context === 'download:signed') return 'unreachable';
    if (status === 401 || status === 403) return 'auth';
    if (status === 408 || status >= 500) return 'unreachable';
    return 'rejected';
  }
  if (status === 401 || status === 403) return 'auth';
  if (status === 422 && JWT_REFUSAL.test(message)) return 'auth';
  if (status === 503 && /maintenance/i.test(message)) return 'maintenance';
  if (status === 408 || status >= 500) return 'unreachable';
  if (status === 404) {
    // An HTML 404 is a web server or proxy that does not know the route (wrong base URL),
    // not a WES node saying the run does not exist: treating it as gone would fail live runs.
    if (htmlBody) return 'unreachable';
    return context === 'run' ? 'not_found' : 'rejected';
  }
  return 'rejected';
}
