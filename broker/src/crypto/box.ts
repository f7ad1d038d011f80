/**
 * AES-256-GCM sealing of small secrets (result passwords now, the credential vault later).
 * Sealed form: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url), so keys can be rotated by id.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SecretBox {
  readonly keyId: string;
  seal(plaintext: string): string;
  open(sealed: string): string;
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
  };
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
