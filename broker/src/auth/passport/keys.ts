/**
 * Where signing keys come from: one jose remote JWKS per URL, shared by every token that names
 * it, so a key set is fetched once and then refetched only when it is stale or a token names an
 * unknown `kid` (at most once per cooldown: a flood of random `kid`s is not a flood of requests).
 * Configured `jwksUri`s are trusted as configured; `jku` URLs go through the guarded fetch of
 * jku-fetch.ts. The number of URLs kept is bounded, because an allow-listed prefix covers many.
 */
import { createRemoteJWKSet, customFetch, errors as jose, type JWTVerifyGetKey } from 'jose';
import { BlockedAddressError, jkuFetch } from './jku-fetch';

export interface KeyStoreOptions {
  /** Timeout of each key set request, in milliseconds. Default 5000. */
  fetchTimeoutMs?: number;
  /** Minimum time between two refetches caused by an unknown `kid`, in milliseconds. Default 30000. */
  cooldownMs?: number;
  /** How long fetched keys are used before they are fetched again anyway. Default 10 minutes. */
  cacheMaxAgeMs?: number;
  /** `jku` URLs may resolve to loopback/private addresses. Default false; tests only. */
  allowPrivateJkuAddresses?: boolean;
  /** Key set URLs remembered at once (least recently used dropped first). Default 64. */
  maxKeySets?: number;
}

/** Why keys could not be had: not the token's fault (except `blocked`). */
export class KeysUnavailableError extends Error {
  constructor(
    readonly blocked: boolean,
    options?: { cause?: unknown },
  ) {
    super(blocked ? 'the key set URL points to a non-public address' : 'the key set could not be fetched', options);
    this.name = 'KeysUnavailableError';
  }
}

export interface KeyStore {
  /** A jose key getter for a configured (trusted) key set URL. */
  fromJwksUri(url: string): JWTVerifyGetKey;
  /** A jose key getter for an allow-listed `jku` (checked by the caller before this is called). */
  fromJku(url: URL): JWTVerifyGetKey;
  /** Number of key set URLs currently remembered. */
  readonly size: number;
}

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

const MAX_JWKS_BYTES = 256 * 1024;

export function createKeyStore(options: KeyStoreOptions = {}): KeyStore {
  const sets = new Map<string, RemoteKeys>();
  const max = options.maxKeySets ?? 64;
  const common = {
    timeoutDuration: options.fetchTimeoutMs ?? 5000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
  };
  const guarded = jkuFetch({ allowPrivateAddresses: options.allowPrivateJkuAddresses ?? false, maxBytes: MAX_JWKS_BYTES });

  const remote = (key: string, url: URL, viaJku: boolean): RemoteKeys => {
    let set = sets.get(key);
    if (set !== undefined) {
      sets.delete(key);
    } else {
      set = createRemoteJWKSet(url, viaJku ? { ...common, [customFetch]: guarded } : common);
      if (sets.size >= max) {
        const oldest = sets.keys().next().value;
        if (oldest !== undefined) sets.delete(oldest);
      }
    }
    sets.set(key, set);
    return set;
  };

  const getter =
    (set: RemoteKeys): JWTVerifyGetKey =>
    async (header, token) => {
      try {
        return await set(header, token);
      } catch (err) {
        // These two are about the token (its `kid`), not about the key server.
        if (err instanceof jose.JWKSNoMatchingKey || err instanceof jose.JWKSMultipleMatchingKeys) throw err;
        const blocked = err instanceof BlockedAddressError || (err instanceof Error && err.cause instanceof BlockedAddressError);
        throw new KeysUnavailableError(blocked, { cause: err });
      }
    };

  return {
    fromJwksUri: (url) => getter(remote(`jwks ${url}`, new URL(url), false)),
    fromJku: (url) => getter(remote(`jku ${url.href}`, url, true)),
    get size() {
      return sets.size;
    },
  };
}
