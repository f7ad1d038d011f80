/**
 * Evaluated passports, kept in process so that each request carrying the same access token does
 * not verify every visa again. Entries are keyed by the sha256 of the access token, never by the
 * token (a heap dump or a debug listing must not hand out bearer tokens), live until the earliest
 * visa expiry (`validUntil`) but never longer than `maxAgeSec` (so revoked visas drop out), and
 * the cache is bounded (least recently used dropped first). Concurrent requests with the same
 * token share one evaluation.
 */
import { createHash } from 'node:crypto';
import type { PassportResult } from './types';

export interface PassportCacheOptions {
  /** Entries kept at most. Default 1000. */
  maxEntries?: number;
  /** Longest an entry is used, whatever its visas' expiry, in seconds. Default 300. */
  maxAgeSec?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

export interface PassportCache {
  get(accessToken: string): PassportResult | undefined;
  set(accessToken: string, result: PassportResult): void;
  /** The cached result, or `evaluate()`'s, shared by concurrent callers with the same token. */
  resolve(accessToken: string, evaluate: () => Promise<PassportResult>): Promise<PassportResult>;
  delete(accessToken: string): void;
  clear(): void;
  readonly size: number;
  /** The keys held (sha256 hex digests), for diagnostics and tests. */
  keys(): string[];
}

/** sha256 hex of the access token: the only form in which a token is held. */
export const passportCacheKey = (accessToken: string): string => createHash('sha256').update(accessToken, 'utf8').digest('hex');

interface Entry {
  result: PassportResult;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export function createPassportCache(options: PassportCacheOptions = {}): PassportCache {
  const maxEntries = options.maxEntries ?? 1000;
  const maxAgeMs = (options.maxAgeSec ?? 300) * 1000;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('createPassportCache: maxEntries must be a positive integer');
  const entries = new Map<string, Entry>();
  const pending = new Map<string, Promise<PassportResult>>();

  const read = (key: string): PassportResult | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    entries.delete(key);
    if (now() >= entry.expiresAt) return undefined;
    // Re-inserted: Map order is the recency order.
    entries.set(key, entry);
    return entry.result;
  };

  const write = (key: string, result: PassportResult): void => {
    const cap = now() + maxAgeMs;
    const expiresAt = result.validUntil === null ? cap : Math.min(cap, result.validUntil * 1000);
    entries.delete(key);
    if (expiresAt <= now()) return;
    while (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
    entries.set(key, { result, expiresAt });
  };

  return {
    get: (accessToken) => read(passportCacheKey(accessToken)),
    set: (accessToken, result) => write(passportCacheKey(accessToken), result),
    async resolve(accessToken, evaluate) {
      const key = passportCacheKey(accessToken);
      const cached = read(key);
      if (cached !== undefined) return cached;
      const inFlight = pending.get(key);
      if (inFlight !== undefined) return inFlight;
      const evaluation = evaluate().then((result) => {
        write(key, result);
        return result;
      });
      pending.set(key, evaluation);
      try {
        return await evaluation;
      } finally {
        pending.delete(key);
      }
    },
    delete: (accessToken) => {
      entries.delete(passportCacheKey(accessToken));
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
    keys: () => [...entries.keys()],
  };
}
