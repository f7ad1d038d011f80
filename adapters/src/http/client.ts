/**
 * HTTP to one JSON service (a WES node, DNAstack eWES, a token endpoint): absolute URLs,
 * optional bearer credentials, per-call deadlines, capped bodies, 401 → one refresh, and every
 * failure as a BackendError. What a status means for a route is the caller's `classify`.
 */
import { Readable } from 'node:stream';
import { BackendError, type BackendErrorKind } from '../types';
import { BodyTooLargeError, IdleWatchedBody, readCapped } from './body';
import { describeNetworkError, isRedirectRefusal, isTimeout, messageFromBody, parseRetryAfter, redact } from './errors';
import { looksLikeHtml } from './html';

/** Error bodies are read only this far: they are for a message, not for storage. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Redirect hops a download may take (pre-signed URLs, CDN hops). */
const MAX_REDIRECTS = 5;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** `(status, message, context) → kind`, so 404 can mean `not_found` for a run but `rejected` for a submit. */
export type Classifier = (status: number, message: string, context: string, htmlBody: boolean) => BackendErrorKind;

export interface HttpClientOptions {
  /** Names the service in messages, e.g. `WES node 127.0.0.1:6000`. */
  label: string;
  timeoutMs: number;
  userAgent: string;
  /** Largest JSON or text answer accepted; a bigger one is a misbehaving server. */
  maxResponseBytes: number;
  classify: Classifier;
  /** Every secret that must never appear in a message (tokens, client secrets). */
  secrets: () => readonly (string | null | undefined)[];
  /** The `Authorization` value for a call, or null for none. */
  authorization?: () => Promise<string | null>;
  /**
   * Called once when a call with credentials answers 401; resolve true when new credentials
   * were obtained and the call is worth repeating (OAuth: the token was revoked or expired early).
   */
  refreshAuthorization?: () => Promise<boolean>;
  /** Clock for `Retry-After` dates. */
  now?: () => number;
}

export interface CallOptions {
  method?: HttpMethod;
  body?: FormData | URLSearchParams | string;
  /** For string bodies; FormData and URLSearchParams bring their own. */
  contentType?: string;
  /** What the call is about, handed to `classify` (e.g. `run`, `submit`, `list`). */
  context?: string;
  timeoutMs?: number;
  /** False for anonymous calls (a token request must not carry an old token). */
  auth?: boolean;
  accept?: string;
  /** Extra headers (never credentials: those come from `authorization`). */
  headers?: Record<string, string>;
  /** Read at most this much of a 2xx text body and cut the rest (logs). */
  truncateAt?: number;
}

export interface DownloadOptions {
  context?: string;
  /** Whether this URL (and each redirect target) may receive our credentials. */
  mayAuthorize: (url: URL) => boolean;
  /** Vetoes a URL before any byte is sent to it (SSRF policy); throw a BackendError to refuse. */
  check?: (url: URL) => Promise<void>;
}

export class HttpClient {
  readonly timeoutMs: number;
  readonly #o: HttpClientOptions;

  constructor(options: HttpClientOptions) {
    this.#o = options;
    this.timeoutMs = options.timeoutMs;
  }

  get label(): string {
    return this.#o.label;
  }

  /** The parsed JSON body of a 2xx answer; an empty body is `null`. */
  async json(url: string, options: CallOptions = {}): Promise<unknown> {
    const what = describe(options.method, url);
    const text = await this.text(url, { accept: 'application/json', ...options });
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // A 2xx that is not JSON is a proxy, a captive portal or a login page, not the service.
      const kind = looksLikeHtml(text) ? 'an HTML page' : 'a body that is not JSON';
      throw new BackendError('unreachable', this.#clean(`${this.#o.label} ${what} answered with ${kind} instead of JSON`), null);
    }
  }

  async text(url: string, options: CallOptions = {}): Promise<string> {
    const response = await this.#send(url, options, false);
    const what = describe(options.method, url);
    try {
      if (options.truncateAt !== undefined) return await readCapped(response, options.truncateAt);
      return await readCapped(response, this.#o.maxResponseBytes, { fail: true });
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new BackendError('unreachable', this.#clean(`${this.#o.label} ${what} answered with more than ${error.limit} bytes`), response.status);
      }
      throw this.#networkError(what, error, options.timeoutMs ?? this.timeoutMs);
    }
  }

  /**
   * GET a file and hand back its body as a Node stream, following redirects by hand so that
   * credentials only go where `mayAuthorize` says, re-decided at every hop.
   */
  async download(url: string, label: string, options: DownloadOptions): Promise<Readable> {
    const what = `download of ${label}`;
    let target = parseUrl(url, `${this.#o.label} ${what}`);
    for (let hop = 0; ; hop++) {
      await options.check?.(target);
      const controller = new AbortController();
      const headersTimer = setTimeout(() => controller.abort(timeoutError(this.timeoutMs)), this.timeoutMs);
      const headers: Record<string, string> = { 'User-Agent': this.#o.userAgent };
      const authorized = options.mayAuthorize(target) && this.#o.authorization !== undefined;
      if (authorized) {
        const value = await this.#authorization();
        if (value !== null) headers.Authorization = value;
      }
      let response: Response;
      try {
        response = await fetch(target, { method: 'GET', headers, signal: controller.signal, redirect: 'manual' });
      } catch (error) {
        throw this.#networkError(what, error, this.timeoutMs);
      } finally {
        clearTimeout(headersTimer);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel().catch(() => undefined);
        if (hop >= MAX_REDIRECTS) {
          throw new BackendError('unreachable', this.#clean(`${this.#o.label} ${what} was redirected more than ${MAX_REDIRECTS} times`));
        }
        target = parseUrl(new URL(location, target).href, `${this.#o.label} ${what}`);
        continue;
      }
      if (!response.ok) {
        throw await this.#httpError(what, response, `${options.context ?? 'download'}${authorized ? '' : ':signed'}`);
      }
      if (response.body === null) return Readable.from([]);
      return new IdleWatchedBody(
        response.body,
        this.timeoutMs,
        () => controller.abort(),
        () => new BackendError('unreachable', this.#clean(`${this.#o.label} ${what} stalled: no data for ${this.timeoutMs} ms`)),
      );
    }
  }

  async #send(url: string, options: CallOptions, retried: boolean): Promise<Response> {
    const method = options.method ?? 'GET';
    const what = describe(method, url);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { 'User-Agent': this.#o.userAgent, Accept: options.accept ?? '*/*', ...options.headers };
    if (typeof options.body === 'string') headers['Content-Type'] = options.contentType ?? 'application/json';
    const withAuth = options.auth !== false && this.#o.authorization !== undefined;
    if (withAuth) {
      const value = await this.#authorization();
      if (value !== null) headers.Authorization = value;
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body,
        signal: AbortSignal.timeout(timeoutMs),
        // Following a redirect would hand the Authorization header to whatever host it names.
        // `redirect: 'error'` with `window: null` is also the one combination in which undici does
        // not clone the request, and a clone tees the body: an upload would sit whole in memory.
        redirect: 'error',
        window: null,
      });
    } catch (error) {
      if (isRedirectRefusal(error)) {
        throw new BackendError('rejected', this.#clean(`${this.#o.label} ${what} answered with a redirect; configure the address it redirects to`));
      }
      throw this.#networkError(what, error, timeoutMs);
    }
    if (response.status === 401 && withAuth && !retried && this.#o.refreshAuthorization) {
      await response.body?.cancel().catch(() => undefined);
      if (await this.#o.refreshAuthorization()) return this.#send(url, options, true);
      throw new BackendError('auth', this.#clean(`${this.#o.label} ${what} failed with HTTP 401 and new credentials could not be obtained`), 401);
    }
    if (!response.ok) throw await this.#httpError(what, response, options.context ?? 'api');
    return response;
  }

  async #authorization(): Promise<string | null> {
    return this.#o.authorization ? this.#o.authorization() : null;
  }

  async #httpError(what: string, response: Response, context: string): Promise<BackendError> {
    const body = await readCapped(response, MAX_ERROR_BODY_BYTES).catch(() => '');
    const message = messageFromBody(body);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), (this.#o.now ?? Date.now)());
    const kind = response.status === 429 ? 'rate_limited' : this.#o.classify(response.status, message, context, looksLikeHtml(body));
    const detail = message === '' ? '' : `: ${message}`;
    const wait = kind === 'rate_limited' && retryAfterMs !== null ? ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)` : '';
    return new BackendError(kind, this.#clean(`${this.#o.label} ${what} failed with HTTP ${response.status}${detail}${wait}`), response.status, {
      retryAfterMs,
    });
  }

  #networkError(what: string, error: unknown, timeoutMs: number): BackendError {
    if (error instanceof BackendError) return error;
    const reason = isTimeout(error) ? `timed out after ${timeoutMs} ms` : describeNetworkError(error);
    return new BackendError('unreachable', this.#clean(`${this.#o.label} ${what} unreachable: ${reason}`), null, { cause: error });
  }

  #clean(text: string): string {
    return redact(text, this.#o.secrets());
  }
}

/** `GET /path` without the query: queries may carry signatures or page tokens. */
export function describe(method: string | undefined, url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split('?')[0] ?? url;
  }
  return `${method ?? 'GET'} ${path}`;
}

function parseUrl(url: string, what: string): URL {
  try {
    return new URL(url);
  } catch {
    // Not echoed: a location may carry a signature that grants access to the file.
    throw new BackendError('rejected', `${what}: the location given is not a URL`);
  }
}

function timeoutError(ms: number): Error {
  const error = new Error(`timed out after ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}
