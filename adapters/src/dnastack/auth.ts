/**
 * OAuth 2 client credentials against the DNAstack wallet (DNA `http/authenticators/oauth2_adapter/
 * client_credential.py`): form `client_id, client_secret, grant_type, resource[, scope]`. The token
 * is cached until shortly before `expires_in`, one request at a time however many calls wait, and
 * thrown away when a service answers 401 (revoked or expired early).
 */
import { BackendError } from '../types';
import { HttpClient } from '../http/client';
import { asNumber, asRecord, asString } from '../http/json';
import { classifyWallet } from './errors';

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** The service base URL(s) the token is for, comma-joined (DNAstack's `resource`). */
  resource: string;
  scope?: string;
}

export interface TokenProviderOptions {
  timeoutMs: number;
  userAgent: string;
  now: () => number;
}

interface CachedToken {
  value: string;
  /** When to fetch a new one: a little before the wallet says it expires. */
  renewAt: number;
}

/** Renew this long before expiry, at most; a tenth of the lifetime for short-lived tokens. */
const MAX_EARLY_RENEWAL_MS = 60_000;

export class TokenProvider {
  #cached: CachedToken | null = null;
  #pending: Promise<string> | null = null;
  /** Recent tokens, so one thrown away is still redacted if a service echoes it later. */
  readonly #recent: string[] = [];
  readonly #http: HttpClient;
  /** How many tokens were fetched: tests and metrics read it. */
  fetched = 0;

  constructor(
    private readonly credentials: () => Promise<ClientCredentials>,
    private readonly o: TokenProviderOptions,
    private readonly secrets: () => readonly (string | null | undefined)[],
  ) {
    this.#http = new HttpClient({
      label: 'DNAstack wallet',
      timeoutMs: o.timeoutMs,
      userAgent: o.userAgent,
      maxResponseBytes: 1024 * 1024,
      classify: classifyWallet,
      secrets: () => [...this.secrets(), ...this.#recent],
      now: o.now,
    });
  }

  /** The current access token; null before the first one or after `invalidate`. */
  get current(): string | null {
    return this.#cached?.value ?? null;
  }

  /** Every token of this process's recent past, for redaction. */
  get recent(): readonly string[] {
    return this.#recent;
  }

  async token(): Promise<string> {
    const cached = this.#cached;
    if (cached && this.o.now() < cached.renewAt) return cached.value;
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  /** Forget the token (a service refused it); the next call fetches a new one. */
  invalidate(): void {
    this.#cached = null;
  }

  async #fetch(): Promise<string> {
    const c = await this.credentials();
    const form = new URLSearchParams({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_type: 'client_credentials',
      resource: c.resource,
    });
    if (c.scope) form.set('scope', c.scope);
    const started = this.o.now();
    const answer = asRecord(await this.#http.json(c.tokenUrl, { method: 'POST', body: form, auth: false, context: 'token', accept: 'application/json' }));
    const value = asString(answer.access_token);
    const expiresIn = asNumber(answer.expires_in);
    // DNA `oauth2_adapter/models.py`: all three are required; anything less is not a token answer.
    if (value === null || value === '' || expiresIn === null || asString(answer.token_type) === null) {
      throw new BackendError('unreachable', 'DNAstack wallet answered without access_token, token_type and expires_in');
    }
    const lifetimeMs = Math.max(0, expiresIn * 1000);
    const early = Math.min(MAX_EARLY_RENEWAL_MS, lifetimeMs / 10);
    this.#cached = { value, renewAt: started + lifetimeMs - early };
    this.#recent.push(value);
    if (this.#recent.length > 4) this.#recent.shift();
    this.fetched++;
    return value;
  }
}
