/**
 * HTTP to one GA4GH WES node: the `/ga4gh/wes/v1` routes as paths, its optional bearer token,
 * error classification, downloads that hand the token only to the node itself. What the JSON
 * means lives in wire.ts, outputs.ts and tasks.ts.
 */
import type { Readable } from 'node:stream';
import { HttpClient, type CallOptions } from '../http/client';
import { carriesOwnCredentials, pointsToPrivateNetwork, sameOrigin } from '../http/urls';
import { BackendError } from '../types';
import { classifyWes } from './errors';

export interface WesClientOptions {
  /** The WES base URL, e.g. `http://ga4gh-starter-kit.ilifu.ac.za:6000/ga4gh/wes/v1`. */
  baseUrl: string;
  /** Bearer token (OIDC access token) for nodes that require one; open nodes need none. */
  token?: string;
  /** Per-request limit; for downloads the limit until headers and between two body chunks. */
  timeoutMs?: number;
  userAgent?: string;
  /** Largest JSON answer accepted (a RunLog, a page of runs). */
  maxResponseBytes?: number;
  /**
   * Let outputs point into private or loopback networks other than the node's own host. Off by
   * default: a node listing `http://169.254.169.254/...` as a result must not make the broker fetch it.
   */
  allowPrivateOutputUrls?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_USER_AGENT = 'imputation-broker-wes-adapter/0.1';
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export class WesClient {
  readonly baseUrl: string;
  readonly base: URL;
  readonly http: HttpClient;
  readonly #allowPrivate: boolean;

  constructor(options: WesClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    try {
      this.base = new URL(this.baseUrl);
    } catch {
      throw new TypeError(`WES baseUrl '${options.baseUrl}' is not a URL`);
    }
    const token = options.token;
    this.#allowPrivate = options.allowPrivateOutputUrls ?? false;
    this.http = new HttpClient({
      label: `WES node ${this.base.host}`,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      classify: classifyWes,
      secrets: () => [token],
      ...(token ? { authorization: async () => `Bearer ${token}` } : {}),
    });
  }

  get timeoutMs(): number {
    return this.http.timeoutMs;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** A URL the node gave us (task_logs_url, a stderr link): it gets our token only if it is the node's. */
  isNodeUrl(url: string): boolean {
    try {
      const u = new URL(url, this.base);
      return sameOrigin(u, this.base) && !carriesOwnCredentials(u);
    } catch {
      return false;
    }
  }

  json(path: string, options: CallOptions = {}): Promise<unknown> {
    return this.http.json(this.url(path), options);
  }

  text(path: string, options: CallOptions = {}): Promise<string> {
    return this.http.text(this.url(path), options);
  }

  /** GET an absolute URL on the node (e.g. `task_logs_url`); other hosts are refused. */
  jsonAt(url: string, options: CallOptions = {}): Promise<unknown> {
    if (!this.isNodeUrl(url)) {
      return Promise.reject(new BackendError('rejected', `${this.http.label} pointed at ${safeOrigin(url)}, which is not the node itself`));
    }
    return this.http.json(new URL(url, this.base).href, options);
  }

  textAt(url: string, options: CallOptions = {}): Promise<string> {
    if (!this.isNodeUrl(url)) {
      return Promise.reject(new BackendError('rejected', `${this.http.label} pointed at ${safeOrigin(url)}, which is not the node itself`));
    }
    return this.http.text(new URL(url, this.base).href, options);
  }

  download(url: string, label: string): Promise<Readable> {
    return this.http.download(url, label, {
      mayAuthorize: (u) => sameOrigin(u, this.base) && !carriesOwnCredentials(u),
      check: async (u) => {
        if (u.protocol !== 'https:' && u.protocol !== 'http:') {
          throw new BackendError('rejected', `${this.http.label}: output ${label} is at a ${u.protocol} URL, which cannot be downloaded`);
        }
        if (this.#allowPrivate || u.hostname === this.base.hostname) return;
        if (await pointsToPrivateNetwork(u)) {
          throw new BackendError('rejected', `${this.http.label}: output ${label} points into a private network (${u.hostname}); refused`);
        }
      },
    });
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'something that is not a URL';
  }
}
