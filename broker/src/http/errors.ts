/**
 * The one error shape of the GA4GH APIs this broker serves: `{msg, status_code}` (WES
 * `ErrorResponse`, DRS `Error`). Throw `ApiError` anywhere in a handler; `onError` in the app
 * turns it into the response, and anything else into a 500 that names no internals.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, msg: string, headers: Record<string, string> = {}) {
    super(msg);
    this.name = 'ApiError';
    this.status = status;
    this.headers = headers;
  }
}

export interface ErrorBody {
  msg: string;
  status_code: number;
}

export function errorBody(status: number, msg: string): ErrorBody {
  return { msg, status_code: status };
}

export function errorResponse(c: Context, err: ApiError): Response {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json(errorBody(err.status, err.message), err.status);
}

export const badRequest = (msg: string) => new ApiError(400, msg);
export const notFound = (msg: string) => new ApiError(404, msg);
export const forbidden = (msg: string) => new ApiError(403, msg);
export const unauthorized = (msg: string, challenge = 'Bearer') =>
  new ApiError(401, msg, { 'WWW-Authenticate': challenge });
