/**
 * HTTP to one Cloudgene 3 server: auth header, timeouts, error classification, streaming download.
 * Knows routes only as paths; what the JSON means lives in catalog.ts and jobs.ts.
 */
import { Readable } from 'node:stream';
import { BackendError } from '../types';
import { BodyTooLargeError, IdleWatchedBody, readCapped } from '../http/body';
import { type CallContext, httpError, networkError } from './errors';

export interface CloudgeneClientOptions {
  /** Server root, e.g. `https://imputationserver.sph.umich.edu` (API is under `/api/v2`). */
  baseUrl: string;
  /** Cloudgene API token, sent as `X-Auth-Token` (no `Bearer`). */
  token: string;
  /** Per-request limit; for downloads the limit until headers and between two body chunks. */
  timeoutMs?: number;
  userAgent?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_USER_AGENT = 'imputation-broker-cloudgene-adapter/0.1';

/** Error bodies are read only this far: they are for a message, not for storage. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/**
 * Largest JSON answer accepted. Cloudgene's biggest (a job with all its steps and outputs, a
 * page of 15 jobs) are tens of KB; a proxy streaming an endless body must not fill the heap.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: FormData | URLSearchParams;
  context?: CallContext;
  /** Anonymous routes (token check) must not carry a token they do not need. */
  auth?: boolean;
  timeoutMs?: number;
  /** Read at most this much of a 2xx body (logs can be large and only their start matters). */
  maxBytes?: number;
}

export class CloudgeneClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #token: string;
  readonly #userAgent: string;

  constructor(options: CloudgeneClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#token = options.token;
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Sends a request and returns the parsed JSON body of a 2xx answer. */
  async json(path: string, options: RequestOptions = {}): Promise<unknown> {
    const text = await this.text(path, options);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // A 200 that is not JSON is a proxy or login page in front of Cloudgene, not Cloudgene itself.
      throw new BackendError('unreachable', `Cloudgene ${describe(options.method, path)} returned a non-JSON answer`, 200);
    }
  }

  async text(path: string, options: RequestOptions = {}): Promise<string> {
    const method = options.method ?? 'GET';
    const what = describe(method, path);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { 'User-Agent': this.#userAgent, Accept: 'application/json' };
    if (options.auth !== false) headers['X-Auth-Token'] = this.#token;

    let response: Response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        body: options.body,
        signal,
        // fetch keeps custom headers across cross-origin redirects, so following one would hand
        // the token to whatever host the redirect names. `redirect: 'error'` with `window: null`
        // is also the one combination where undici does not clone the request, and a clone tees
        // the body: a multipart upload would then be held whole in memory (400 MB file → 400 MB).
        redirect: 'error',
        window: null,
      });
    } catch (error) {
      if (isRedirectRefusal(error)) {
        throw new BackendError(
          'rejected',
          `Cloudgene ${what} answered with a redirect; configure the address it redirects to as the base URL`,
        );
      }
      throw networkError(what, error, timeoutMs, this.#token);
    }
    if (!response.ok) {
      const body = await readCapped(response, MAX_ERROR_BODY_BYTES).catch(() => '');
      throw httpError(what, response.status, body, options.context ?? 'api', this.#token, response.headers.get('retry-after'));
    }
    try {
      return options.maxBytes !== undefined
        ? await readCapped(response, options.maxBytes)
        : await readCapped(response, MAX_RESPONSE_BYTES, { fail: true });
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new BackendError('unreachable', `Cloudgene ${what} answered with more than ${error.limit} bytes`, response.status);
      }
      throw networkError(what, error, timeoutMs, this.#token);
    }
  }

  /**
   * GET a capability URL (no token) and hand back its body as a Node stream, following redirects
   * to pre-signed S3 URLs. Exactly one GET: every GET spends one unit of the file's download counter.
   */
  async download(path: string, label: string): Promise<Readable> {
    const what = `download of ${label}`;
    const controller = new AbortController();
    const headersTimer = setTimeout(() => controller.abort(timeoutError(this.timeoutMs)), this.timeoutMs);

    let response: Response;
    try {
      response = await fetch(this.url(path), {
        method: 'GET',
        headers: { 'User-Agent': this.#userAgent },
        signal: controller.signal,
        redirect: 'follow',
      });
    } catch (error) {
      throw networkError(what, error, this.timeoutMs, this.#token);
    } finally {
      clearTimeout(headersTimer);
    }

    if (!response.ok) {
      const body = await readCapped(response, MAX_ERROR_BODY_BYTES).catch(() => '');
      throw httpError(what, response.status, body, 'download', this.#token, response.headers.get('retry-after'));
    }
    if (response.body === null) return Readable.from([]);

    return new IdleWatchedBody(
      response.body,
      this.timeoutMs,
      () => controller.abort(),
      () => new BackendError('unreachable', `Cloudgene ${what} stalled: no data for ${this.timeoutMs} ms`),
    );
  }
}

function describe(method: string | undefined, path: string): string {
  return `${method ?? 'GET'} ${path.split('?')[0] ?? path}`;
}

function isRedirectRefusal(error: unknown): boolean {
  const cause = error instanceof Error ? (error as Error & { cause?: unknown }).cause : undefined;
  return cause instanceof Error && /redirect/i.test(cause.message);
}

function timeoutError(ms: number): Error {
  const error = new Error(`timed out after ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}
