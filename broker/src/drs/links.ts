/**
 * Short-lived signed download links (DRS `/access` for the `signed` access method): a URL that
 * needs no token, for workflow engines and download managers. The signature (HMAC under a key
 * derived from the broker's key ring) covers the object, the expiry and the caller it was issued
 * to, so changing any of them, or using it late, gets a 403. The caller is carried as a digest of
 * their identity, never the identity itself.
 */
import { createHash } from 'node:crypto';
import type { SecretBox } from '../crypto/box';
import { contentUrl, type Urls } from '../wes/views';

const PURPOSE = 'drs-signed-link';

export interface SignedLink {
  url: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export type LinkCheck =
  | { ok: true; caller: string }
  | { ok: false; reason: 'malformed' | 'expired' | 'bad_signature'; message: string };

export interface LinkSigner {
  readonly ttlSec: number;
  /**
   * `ttlSec` overrides the configured lifetime (links handed to a backend must outlive its queue);
   * `fileName` ends the link's path (not signed: it only names the download).
   */
  sign(objectId: string, callerKey: string, ttlSec?: number, fileName?: string): SignedLink;
  /** Checks the query of a signed link for `objectId`. */
  check(objectId: string, query: { expires?: string; caller?: string; signature?: string }): LinkCheck;
}

/** A digest of the caller's owner key: enough to tell who a link was issued to in the audit trail. */
export function callerTag(callerKey: string): string {
  return createHash('sha256').update(callerKey, 'utf8').digest('base64url').slice(0, 22);
}

export function createLinkSigner(box: SecretBox, urls: Urls, ttlSec: number, now: () => number = Date.now): LinkSigner {
  const data = (objectId: string, expires: number, caller: string) => `${objectId.toLowerCase()}|${expires}|${caller}`;
  return {
    ttlSec,
    sign(objectId, callerKey, lifetimeSec = ttlSec, fileName) {
      const expiresAt = Math.floor(now() / 1000) + lifetimeSec;
      const caller = callerTag(callerKey);
      const signature = box.mac(PURPOSE, data(objectId, expiresAt, caller));
      const query = new URLSearchParams({ expires: String(expiresAt), caller, signature });
      return { url: `${contentUrl(urls, objectId, fileName)}?${query}`, expiresAt };
    },
    check(objectId, q) {
      if (!q.expires || !q.caller || !q.signature) {
        return { ok: false, reason: 'malformed', message: 'A signed link needs expires, caller and signature; ask DRS /access for a new one.' };
      }
      if (!/^\d{1,12}$/.test(q.expires) || !/^[A-Za-z0-9_-]{1,64}$/.test(q.caller) || q.signature.length > 200) {
        return { ok: false, reason: 'malformed', message: 'This signed link has been altered; ask DRS /access for a new one.' };
      }
      if (!box.verifyMac(PURPOSE, data(objectId, Number(q.expires), q.caller), q.signature)) {
        return { ok: false, reason: 'bad_signature', message: 'The signature of this link does not match it (altered, or made for another object); ask DRS /access for a new one.' };
      }
      if (Number(q.expires) * 1000 <= now()) {
        return {
          ok: false,
          reason: 'expired',
          message: `This signed link expired at ${new Date(Number(q.expires) * 1000).toISOString()}; ask DRS /access for a new one (links last ${ttlSec} s).`,
        };
      }
      return { ok: true, caller: q.caller };
    },
  };
}
