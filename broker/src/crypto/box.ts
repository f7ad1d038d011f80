/**
 * AES-256-GCM sealing of small secrets (result passwords, the credential vault).
 * Sealed form: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url), so keys can be rotated by id.
 * The same keys authenticate short-lived tokens (signed download links): HMAC-SHA-256 under a key
 * derived per purpose (HKDF), so a MAC made for one purpose is worthless for another.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SecretBox {
  readonly keyId: string;
  seal(plaintext: string): string;
  open(sealed: string): string;
  /** `<keyId>.<HMAC-SHA-256, base64url>` of `data` for one `purpose`. */
  mac(purpose: string, data: string): string;
  /** True when `mac` was made by `mac(purpose, data)` with one of this box's keys. */
  verifyMac(purpose: string, data: string, mac: string): boolean;
}

function hmac(key: Buffer, purpose: string, data: string): Buffer {
  const derived = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `ibroker-mac:${purpose}`, 32));
  return createHmac('sha256', derived).update(data, 'utf8').digest();
}

export function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error('SECRET_KEY must be 32 bytes, given as 64 hex characters or base64');
  return key;
}

export function createSecretBox(key: Buffer): SecretBox {
  const keyId = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return {
    keyId,
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
    },
    open(sealed) {
      const [v, kid, iv, tag, ct] = sealed.split('.');
      if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('not a sealed secret');
      if (kid !== keyId) throw new Error(`secret was sealed with key ${kid}, not the current key ${keyId}`);
      // Without authTagLength Node accepts a truncated tag (4, 8, 12... bytes), so a cut-down tag
      // would still authenticate and forging gets far cheaper: insist on the full 16 bytes.
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
    mac(purpose, data) {
      return `${keyId}.${hmac(key, purpose, data).toString('base64url')}`;
    },
    verifyMac(purpose, data, mac) {
      const [kid, tag, extra] = mac.split('.');
      if (kid !== keyId || !tag || extra !== undefined) return false;
      const given = Buffer.from(tag, 'base64url');
      const expected = hmac(key, purpose, data);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** The key id a sealed secret names (its second part), or null when the text is not a sealed secret. */
export function sealedKeyId(sealed: string): string | null {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === 'v1' && parts[1] ? parts[1] : null;
}

/**
 * Several keys by id, for rotation: seals with the current key (the first), opens whatever any
 * of its keys sealed. A ring is itself a SecretBox, so it goes wherever a box does.
 */
export interface KeyRing extends SecretBox {
  /** Every key id the ring can open, the current (sealing) one first. */
  readonly keyIds: readonly string[];
  /** The single-key boxes, current first (to build a ring from rings). */
  readonly boxes: readonly SecretBox[];
  has(keyId: string): boolean;
}

function isKeyRing(box: SecretBox): box is KeyRing {
  return Array.isArray((box as Partial<KeyRing>).boxes);
}

/**
 * A ring from keys, boxes or other rings, in order of preference: the first seals. A key id seen
 * twice keeps its first box, so `createKeyRing([next, ...current.boxes])` seals with `next` and
 * still opens everything `current` could.
 */
export function createKeyRing(keys: ReadonlyArray<Buffer | SecretBox>): KeyRing {
  const byId = new Map<string, SecretBox>();
  for (const k of keys) {
    const boxes = Buffer.isBuffer(k) ? [createSecretBox(k)] : isKeyRing(k) ? k.boxes : [k];
    for (const b of boxes) if (!byId.has(b.keyId)) byId.set(b.keyId, b);
  }
  const boxes = [...byId.values()];
  const current = boxes[0];
  if (!current) throw new Error('a key ring needs at least one key');
  const keyIds = boxes.map((b) => b.keyId);
  return {
    keyId: current.keyId,
    keyIds,
    boxes,
    has: (keyId) => byId.has(keyId),
    seal: (plaintext) => current.seal(plaintext),
    mac: (purpose, data) => current.mac(purpose, data),
    verifyMac(purpose, data, mac) {
      const box = byId.get(mac.split('.')[0] ?? '');
      return box !== undefined && box.verifyMac(purpose, data, mac);
    },
    open(sealed) {
      const kid = sealedKeyId(sealed);
      if (kid === null) throw new Error('not a sealed secret');
      const box = byId.get(kid);
      if (!box) throw new Error(`secret was sealed with key ${kid}, which is not among the keys given (${keyIds.join(', ')})`);
      return box.open(sealed);
    },
  };
}

/**
 * One or more keys from one text (SECRET_KEY or a key file): separated by newlines, commas or
 * spaces, the current key first, so a rotation can give every replica both keys before any row
 * is re-encrypted. Lines starting with `#` are comments.
 */
export function parseKeys(text: string): Buffer[] {
  const keys = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join(' ')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parseKey);
  if (!keys.length) throw new Error('SECRET_KEY must be 32 bytes, given as 64 hex characters or base64');
  return keys;
}

/** Like `loadOrCreateKey`, but the text may hold several keys (see `parseKeys`); the first seals. */
export function loadOrCreateKeyRing(secretKey: string | null, keyFile: string): KeyRing {
  if (secretKey) return createKeyRing(parseKeys(secretKey));
  if (existsSync(keyFile)) return createKeyRing(parseKeys(readFileSync(keyFile, 'utf8')));
  return createKeyRing([loadOrCreateKey(null, keyFile)]);
}

/** The key from SECRET_KEY, else from `<dataDir>/secret.key`, created (0600) on first start. */
export function loadOrCreateKey(secretKey: string | null, keyFile: string): Buffer {
  if (secretKey) return parseKey(secretKey);
  if (existsSync(keyFile)) return parseKey(readFileSync(keyFile, 'utf8'));
  mkdirSync(dirname(keyFile), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(keyFile, key.toString('hex'), { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return key;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Cloudgene HTML-escapes text fields and interpolates the password into a shell `7z` command,
 * so anything beyond [A-Za-z0-9] can silently change or break it.
 */
export function generateResultPassword(length = 24): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}
