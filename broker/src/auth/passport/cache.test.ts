/** The passport cache: keyed by the token's hash only, expiring with its visas, bounded. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPassportCache, passportCacheKey } from './cache';
import type { PassportResult } from './types';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWFsaWNl';
const result = (validUntil: number | null, subject = 'alice'): PassportResult => ({
  subject: { issuer: 'https://broker.example', subject },
  visas: [],
  refused: [],
  validUntil,
});

function clock(startMs = 1_700_000_000_000) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => (t += ms), sec: () => Math.floor(t / 1000) };
}

describe('passport cache', () => {
  it('is keyed by the sha256 of the access token, never by the token', () => {
    const c = clock();
    const cache = createPassportCache({ now: c.now });
    cache.set(TOKEN, result(c.sec() + 60));
    const hash = createHash('sha256').update(TOKEN).digest('hex');
    expect(passportCacheKey(TOKEN)).toBe(hash);
    expect(cache.keys()).toEqual([hash]);
    for (const key of cache.keys()) {
      expect(key).not.toContain(TOKEN);
      for (const part of TOKEN.split('.')) expect(key).not.toContain(part);
    }
    expect(JSON.stringify(cache.keys())).not.toContain(TOKEN.slice(0, 20));
    expect(cache.get(TOKEN)?.subject.subject).toBe('alice');
    // The hash itself is not a token that finds the entry.
    expect(cache.get(hash)).toBeUndefined();
  });

  it('expires an entry at validUntil', () => {
    const c = clock();
    const cache = createPassportCache({ now: c.now, maxAgeSec: 3600 });
    cache.set(TOKEN, result(c.sec() + 30));
    c.advance(29_000);
    expect(cache.get(TOKEN)).toBeDefined();
    c.advance(1_000);
    expect(cache.get(TOKEN)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never keeps an entry longer than maxAgeSec, also when no visa bounds it', () => {
    const c = clock();
    const cache = createPassportCache({ now: c.now, maxAgeSec: 10 });
    cache.set(TOKEN, result(c.sec() + 3600));
    cache.set('other-token', result(null));
    c.advance(9_999);
    expect(cache.get(TOKEN)).toBeDefined();
    expect(cache.get('other-token')).toBeDefined();
    c.advance(1);
    expect(cache.get(TOKEN)).toBeUndefined();
    expect(cache.get('other-token')).toBeUndefined();
  });

  it('does not store a result that has already expired', () => {
    const c = clock();
    const cache = createPassportCache({ now: c.now });
    cache.set(TOKEN, result(c.sec() - 1));
    expect(cache.size).toBe(0);
  });

  it('is bounded, dropping the least recently used entry', () => {
    const c = clock();
    const cache = createPassportCache({ now: c.now, maxEntries: 2 });
    cache.set('t1', result(null, 'one'));
    cache.set('t2', result(null, 'two'));
    expect(cache.get('t1')).toBeDefined(); // t1 is now more recent than t2
    cache.set('t3', result(null, 'three'));
    expect(cache.size).toBe(2);
    expect(cache.get('t2')).toBeUndefined();
    expect(cache.get('t1')?.subject.subject).toBe('one');
    expect(cache.get('t3')?.subject.subject).toBe('three');
  });

  it('shares one evaluation among concurrent requests with the same token', async () => {
    const c = clock();
    const cache = createPassportCache({ now: c.now });
    let evaluations = 0;
    const evaluate = async (): Promise<PassportResult> => {
      evaluations++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return result(c.sec() + 60);
    };
    const all = await Promise.all([cache.resolve(TOKEN, evaluate), cache.resolve(TOKEN, evaluate), cache.resolve(TOKEN, evaluate)]);
    expect(evaluations).toBe(1);
    expect(new Set(all).size).toBe(1);
    await cache.resolve(TOKEN, evaluate);
    expect(evaluations).toBe(1);
    c.advance(61_000);
    await cache.resolve(TOKEN, evaluate);
    expect(evaluations).toBe(2);
  });

  it('does not cache a failed evaluation', async () => {
    const cache = createPassportCache();
    await expect(cache.resolve(TOKEN, () => Promise.reject(new Error('broker down')))).rejects.toThrow('broker down');
    expect(cache.size).toBe(0);
    await expect(cache.resolve(TOKEN, async () => result(null))).resolves.toBeDefined();
  });

  it('forgets a token on delete and everything on clear', () => {
    const cache = createPassportCache();
    cache.set(TOKEN, result(null));
    cache.set('other', result(null));
    cache.delete(TOKEN);
    expect(cache.get(TOKEN)).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
