/**
 * API refusals become SvelteKit errors carrying the API's own message, so the error page says
 * what the broker said (never a blank page or a stack trace); a lapsed session sends the browser
 * through the login again and back to the page it was on.
 */
import { error, redirect } from '@sveltejs/kit';

export interface ApiErrorBody {
  msg?: string;
  status_code?: number;
}

/** The message an API error carries, or a sentence saying what happened. */
export function apiMessage(body: unknown, response: Response): string {
  const msg = typeof body === 'object' && body !== null && typeof (body as ApiErrorBody).msg === 'string' ? (body as ApiErrorBody).msg : undefined;
  return msg && msg.trim() !== '' ? msg : `The broker answered ${response.status} ${response.statusText || ''}`.trim();
}

export function loginUrl(returnTo: URL | string): string {
  const path = typeof returnTo === 'string' ? returnTo : `${returnTo.pathname}${returnTo.search}`;
  return `/auth/login?return_to=${encodeURIComponent(path)}`;
}

/** Throws the SvelteKit error (or login redirect) for a failed API call. */
export function fail(response: Response, body: unknown, url: URL): never {
  if (response.status === 401) redirect(303, loginUrl(url));
  const status = response.status >= 400 && response.status <= 599 ? response.status : 502;
  error(status, { message: apiMessage(body, response), status });
}

/** The data of an openapi-fetch result, or the error page with the API's message. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }, url: URL): T {
  if (result.data !== undefined && result.response.ok) return result.data;
  fail(result.response, result.error, url);
}
