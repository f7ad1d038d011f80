/**
 * HTTP to DNAstack Workbench: discovery (once), the wallet token (cached), the namespace (once),
 * and eWES calls under `<ewes>/<namespace>/ga4gh/wes/v1`. A 401 from a service throws the token
 * away and repeats the call once with a new one, as the DNAstack client does.
 */
import type { Readable } from 'node:stream';
import { decodeJwt } from 'jose';
import { BackendError } from '../types';
import { HttpClient, type CallOptions } from '../http/client';
import { asRecord, asString } from '../http/json';
import { carriesOwnCredentials, pointsToPrivateNetwork, sameOrigin } from '../http/urls';
import { TokenProvider } from './auth';
import { discover, type Endpoints } from './discovery';
import { classifyEwes } from './errors';

export interface DnastackClientOptions {
  /** Workbench host or URL to look for a service registry at (`workbench.omics.ai`), as `omics use` does. */
  registryUrl?: string;
  /** The eWES service base URL, e.g. `https://workbench.example.org/services/ewes-service/`; overrides discovery. */
  ewesUrl?: string;
  /** The Workbench user service (`users/me` gives the default namespace). */
  userServiceUrl?: string;
  /** The workflow service (checks the registered workflow exists). */
  workflowServiceUrl?: string;
  /** The wallet's token endpoint; overrides the registry's `accessTokenUrl`. */
  tokenUrl?: string;
  clientId: string;
  /** Never logged, never in an error message. */
  clientSecret: string;
  /** The token's `resource`; default: the registry's, else the service URLs this adapter calls. */
  resource?: string;
  scope?: string;
  /** The namespace; default the user's `default_namespace`, else the token's `sub`. */
  namespace?: string;
  timeoutMs?: number;
  userAgent?: string;
  maxResponseBytes?: number;
  /** Let outputs point into private or loopback networks (tests, demo). Off by default (SSRF). */
  allowPrivateOutputUrls?: boolean;
  now?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_USER_AGENT = 'imputation-broker-dnastack-adapter/0.1';

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export class DnastackClient {
  readonly http: HttpClient;
  readonly tokens: TokenProvider;
  readonly #o: DnastackClientOptions;
  #endpoints: Promise<Endpoints> | null = null;
  #namespace: Promise<string> | null = null;

  constructor(options: DnastackClientOptions) {
    if (!options.clientId || !options.clientSecret) throw new TypeError('DNAstack adapter: clientId and clientSecret are required');
    if (!options.registryUrl && !options.ewesUrl) throw new TypeError('DNAstack adapter: give registryUrl (discovery) or ewesUrl');
    this.#o = options;
    const now = options.now ?? Date.now;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    const secrets = (): readonly (string | null | undefined)[] => [options.clientSecret, ...(this.tokens?.recent ?? [])];
    this.tokens = new TokenProvider(() => this.#credentials(), { timeoutMs, userAgent, now }, () => [options.clientSecret]);
    this.http = new HttpClient({
      label: 'DNAstack',
      timeoutMs,
      userAgent,
      maxResponseBytes: options.maxResponseBytes ?? 16 * 1024 * 1024,
      classify: classifyEwes,
      secrets,
      now,
      authorization: async () => `Bearer ${await this.tokens.token()}`,
      refreshAuthorization: async () => {
        this.tokens.invalidate();
        await this.tokens.token();
        return true;
      },
    });
  }

  get timeoutMs(): number {
    return this.http.timeoutMs;
  }

  /** Discovery once; a failed attempt is not remembered, so the next call tries again. */
  endpoints(): Promise<Endpoints> {
    this.#endpoints ??= discover(this.http, this.#o).catch((error: unknown) => {
      this.#endpoints = null;
      throw error;
    });
    return this.#endpoints;
  }

  async #credentials(): Promise<{ tokenUrl: string; clientId: string; clientSecret: string; resource: string; scope?: string }> {
    const e = await this.endpoints();
    const tokenUrl = this.#o.tokenUrl ?? e.auth.tokenUrl;
    if (!tokenUrl) throw new BackendError('rejected', 'DNAstack adapter: no token URL (configure tokenUrl or a registry that names one)');
    const resource = this.#o.resource ?? e.resources.join(',');
    const scope = this.#o.scope ?? e.auth.scope ?? undefined;
    return { tokenUrl, clientId: this.#o.clientId, clientSecret: this.#o.clientSecret, resource, ...(scope ? { scope } : {}) };
  }

  /** `users/me` → `default_namespace`; without a user service (or an answer), the token's `sub`. */
  namespace(): Promise<string> {
    if (this.#o.namespace) return Promise.resolve(this.#o.namespace);
    this.#namespace ??= this.#findNamespace().catch((error: unknown) => {
      this.#namespace = null;
      throw error;
    });
    return this.#namespace;
  }

  async #findNamespace(): Promise<string> {
    const e = await this.endpoints();
    if (e.userServiceUrl) {
      try {
        const me = asRecord(await this.http.json(new URL('users/me', `${trimSlash(e.userServiceUrl)}/`).href, { context: 'user' }));
        const ns = asString(me.default_namespace);
        if (ns) return ns;
      } catch (error) {
        // Only "no such route" lets the token decide; an outage must not pick the wrong namespace.
        if (!(error instanceof BackendError) || error.kind !== 'rejected') throw error;
      }
    }
    try {
      const sub = decodeJwt(await this.tokens.token()).sub;
      if (sub) return sub;
    } catch (error) {
      if (error instanceof BackendError) throw error;
    }
    throw new BackendError('rejected', 'DNAstack: no namespace configured, none from users/me, and the access token has no sub claim');
  }

  /** `<ewes>/<namespace>/ga4gh/wes/v1<path>`. */
  async wes(path: string): Promise<string> {
    const [e, ns] = await Promise.all([this.endpoints(), this.namespace()]);
    return `${trimSlash(e.ewesUrl)}/${encodeURIComponent(ns)}/ga4gh/wes/v1${path}`;
  }

  /** `<ewes>/<namespace><path>` (engines). */
  async ewes(path: string): Promise<string> {
    const [e, ns] = await Promise.all([this.endpoints(), this.namespace()]);
    return `${trimSlash(e.ewesUrl)}/${encodeURIComponent(ns)}${path}`;
  }

  /** `<workflow service>/<namespace><path>`, or null without a workflow service. */
  async workflows(path: string): Promise<string | null> {
    const [e, ns] = await Promise.all([this.endpoints(), this.namespace()]);
    return e.workflowServiceUrl ? `${trimSlash(e.workflowServiceUrl)}/${encodeURIComponent(ns)}${path}` : null;
  }

  json(url: string, options: CallOptions = {}): Promise<unknown> {
    return this.http.json(url, options);
  }

  text(url: string, options: CallOptions = {}): Promise<string> {
    return this.http.text(url, options);
  }

  /**
   * A `pagination.next_page_url` as eWES hands it out: absolute, so it is checked to be eWES itself
   * before our token goes there.
   */
  async isEwesUrl(url: string): Promise<boolean> {
    const e = await this.endpoints();
    try {
      return sameOrigin(new URL(url), new URL(e.ewesUrl));
    } catch {
      return false;
    }
  }

  async download(url: string, label: string): Promise<Readable> {
    const e = await this.endpoints();
    const origin = new URL(e.ewesUrl);
    return this.http.download(url, label, {
      mayAuthorize: (u) => sameOrigin(u, origin) && !carriesOwnCredentials(u),
      check: async (u) => {
        if (u.protocol !== 'https:' && u.protocol !== 'http:') {
          throw new BackendError('rejected', `DNAstack: output ${label} is at a ${u.protocol} URL, which cannot be downloaded`);
        }
        if (this.#o.allowPrivateOutputUrls || u.hostname === origin.hostname) return;
        if (await pointsToPrivateNetwork(u)) {
          throw new BackendError('rejected', `DNAstack: output ${label} points into a private network (${u.hostname}); refused`);
        }
      },
    });
  }
}
