/** AES-256-GCM sealing of result passwords: round trip, tampering, key ids, key files. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeyRing,
  createSecretBox,
  generateResultPassword,
  loadOrCreateKey,
  loadOrCreateKeyRing,
  parseKey,
  parseKeys,
  sealedKeyId,
} from './box';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ibroker-box-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Flips one bit in one base64url part of a sealed secret. */
function tamper(sealed: string, part: 2 | 3 | 4): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('createSecretBox', () => {
  const box = createSecretBox(randomBytes(32));

  it('opens what it sealed, including empty and non-ASCII text', () => {
    for (const text of ['Ab3dEf9hIj2kLm4nOp6qRs8t', '', 'pässwörd ✓ 密码', 'x'.repeat(10_000)]) {
      expect(box.open(box.seal(text))).toBe(text);
    }
  });

  it('has the form v1.<keyId>.<iv>.<tag>.<ciphertext>, base64url, and never contains the plaintext', () => {
    const sealed = box.seal('Ab3dEf9hIj2kLm4nOp6qRs8t');
    const [v, kid, iv, tag, ct] = sealed.split('.');
    expect(v).toBe('v1');
    expect(kid).toBe(box.keyId);
    expect(box.keyId).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ct!, 'base64url')).toHaveLength(24);
    expect(sealed).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(sealed).not.toContain('Ab3dEf9hIj2kLm4nOp6qRs8t');
  });

  it('uses a fresh iv every time: the same text never seals the same way', () => {
    const a = box.seal('same');
    const b = box.seal('same');
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it.each([
    ['iv', 2],
    ['tag', 3],
    ['ciphertext', 4],
  ] as const)('refuses a sealed secret whose %s was changed', (_what, part) => {
    const sealed = box.seal('Ab3dEf9hIj2kLm4nOp6qRs8t');
    expect(() => box.open(tamper(sealed, part))).toThrow(/unable to authenticate|auth/i);
  });

  it.each([4, 8, 12, 15])('refuses the right tag cut down to %i bytes (GCM would accept it by default)', (bytes) => {
    const parts = box.seal('secret').split('.');
    parts[3] = Buffer.from(parts[3]!, 'base64url').subarray(0, bytes).toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow(/authentication tag length/i);
  });

  it.each(['', 'plain text', 'v2.abc.def.ghi.jkl', 'v1.only.three'])('refuses %j as not a sealed secret', (text) => {
    expect(() => box.open(text)).toThrow('not a sealed secret');
  });

  it('refuses a secret sealed under another key, naming both key ids', () => {
    const other = createSecretBox(randomBytes(32));
    const sealed = other.seal('secret');
    expect(() => box.open(sealed)).toThrow(`secret was sealed with key ${other.keyId}, not the current key ${box.keyId}`);
  });

  it('refuses a secret whose key id was rewritten to the current one (the key itself differs)', () => {
    const other = createSecretBox(randomBytes(32));
    const parts = other.seal('secret').split('.');
    parts[1] = box.keyId;
    expect(() => box.open(parts.join('.'))).toThrow(/unable to authenticate|auth/i);
  });

  it('derives the same key id from the same key', () => {
    const key = randomBytes(32);
    const a = createSecretBox(key);
    const b = createSecretBox(Buffer.from(key));
    expect(a.keyId).toBe(b.keyId);
    expect(b.open(a.seal('shared'))).toBe('shared');
  });
});

describe('parseKey', () => {
  const key = randomBytes(32);

  it('reads 64 hex characters (either case, surrounding whitespace ignored)', () => {
    expect(parseKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseKey(`  ${key.toString('hex').toUpperCase()}\n`).equals(key)).toBe(true);
  });

  it('reads base64 and base64url', () => {
    expect(parseKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseKey(`${key.toString('base64url')}\n`).equals(key)).toBe(true);
  });

  it.each([
    ['16 bytes of hex', randomBytes(16).toString('hex')],
    ['31 bytes of base64', randomBytes(31).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['63 hex characters', randomBytes(32).toString('hex').slice(1)],
    ['an empty string', ''],
    ['a passphrase', 'correct horse battery staple'],
  ])('refuses %s, saying what a key must be', (_what, text) => {
    expect(() => parseKey(text)).toThrow('SECRET_KEY must be 32 bytes, given as 64 hex characters or base64');
  });
});

describe('loadOrCreateKey', () => {
  it('uses SECRET_KEY when given, without touching the key file', () => {
    const key = randomBytes(32);
    const file = join(dir, 'unused', 'secret.key');
    expect(loadOrCreateKey(key.toString('base64'), file).equals(key)).toBe(true);
    expect(() => statSync(file)).toThrow();
  });

  it('refuses a bad SECRET_KEY instead of generating one', () => {
    expect(() => loadOrCreateKey('too-short', join(dir, 'bad', 'secret.key'))).toThrow(/SECRET_KEY must be 32 bytes/);
  });

  it('creates a 0600 key file (and its directory) on first start, and reuses it after', () => {
    const file = join(dir, 'data', 'nested', 'secret.key');
    const first = loadOrCreateKey(null, file);
    expect(first).toHaveLength(32);
    const st = statSync(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(first.toString('hex'));

    const second = loadOrCreateKey(null, file);
    expect(second.equals(first)).toBe(true);
    // A secret sealed before the restart opens after it.
    const sealed = createSecretBox(first).seal('survives restarts');
    expect(createSecretBox(second).open(sealed)).toBe('survives restarts');
  });

  it('creates a different key in another data directory', () => {
    const a = loadOrCreateKey(null, join(dir, 'a', 'secret.key'));
    const b = loadOrCreateKey(null, join(dir, 'b', 'secret.key'));
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a corrupt key file rather than replacing it (sealed passwords would be lost)', () => {
    const file = join(dir, 'corrupt.key');
    writeFileSync(file, 'not a key');
    expect(() => loadOrCreateKey(null, file)).toThrow(/SECRET_KEY must be 32 bytes/);
    expect(readFileSync(file, 'utf8')).toBe('not a key');
  });
});

describe('createKeyRing', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const oldBox = createSecretBox(oldKey);
  const newBox = createSecretBox(newKey);

  it('seals with the first key and opens what any of its keys sealed', () => {
    const ring = createKeyRing([newKey, oldKey]);
    expect(ring.keyId).toBe(newBox.keyId);
    expect(ring.keyIds).toEqual([newBox.keyId, oldBox.keyId]);
    const sealed = ring.seal('fresh');
    expect(sealedKeyId(sealed)).toBe(newBox.keyId);
    expect(newBox.open(sealed)).toBe('fresh');
    expect(ring.open(oldBox.seal('from before'))).toBe('from before');
    expect(ring.has(oldBox.keyId)).toBe(true);
    expect(ring.has('nope')).toBe(false);
  });

  it('takes boxes and rings as well as keys, keeping the first box of a key id seen twice', () => {
    const first = createKeyRing([oldKey]);
    const next = createKeyRing([newBox, first, oldKey, newKey]);
    expect(next.keyIds).toEqual([newBox.keyId, oldBox.keyId]);
    expect(next.boxes).toHaveLength(2);
    expect(next.open(first.seal('x'))).toBe('x');
  });

  it('refuses a secret under a key it does not hold, naming the key ids it has', () => {
    const ring = createKeyRing([newKey]);
    const stranger = createSecretBox(randomBytes(32));
    expect(() => ring.open(stranger.seal('secret'))).toThrow(
      `secret was sealed with key ${stranger.keyId}, which is not among the keys given (${newBox.keyId})`,
    );
  });

  it('still refuses tampering and text that is not sealed', () => {
    const ring = createKeyRing([newKey, oldKey]);
    expect(() => ring.open(tamper(ring.seal('secret'), 4))).toThrow(/unable to authenticate|auth/i);
    expect(() => ring.open('plain text')).toThrow('not a sealed secret');
  });

  it('needs at least one key', () => {
    expect(() => createKeyRing([])).toThrow('a key ring needs at least one key');
  });
});

describe('sealedKeyId', () => {
  it('reads the key id of a sealed secret, null for anything else', () => {
    const box = createSecretBox(randomBytes(32));
    expect(sealedKeyId(box.seal('x'))).toBe(box.keyId);
    for (const text of ['', 'plain', 'v2.a.b.c.d', 'v1..b.c.d', 'v1.a.b.c']) expect(sealedKeyId(text)).toBeNull();
  });
});

describe('parseKeys and loadOrCreateKeyRing', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);

  it('reads several keys, current first, separated by newlines, commas or spaces, skipping # comments', () => {
    for (const text of [
      `${a.toString('hex')}\n${b.toString('base64')}\n`,
      `${a.toString('hex')}, ${b.toString('base64')}`,
      `# rotated 2026-01-01\n${a.toString('base64url')} ${b.toString('hex')}`,
    ]) {
      const keys = parseKeys(text);
      expect(keys).toHaveLength(2);
      expect(keys[0]!.equals(a)).toBe(true);
      expect(keys[1]!.equals(b)).toBe(true);
    }
  });

  it('refuses an empty text and any bad key in the list', () => {
    expect(() => parseKeys('\n# only a comment\n')).toThrow(/SECRET_KEY must be 32 bytes/);
    expect(() => parseKeys(`${a.toString('hex')}\nnot-a-key`)).toThrow(/SECRET_KEY must be 32 bytes/);
  });

  it('builds a ring from SECRET_KEY, else from the key file, else creates the file as loadOrCreateKey does', () => {
    const fromEnv = loadOrCreateKeyRing(`${a.toString('hex')},${b.toString('hex')}`, join(dir, 'ring-unused', 'secret.key'));
    expect(fromEnv.keyIds).toEqual([createSecretBox(a).keyId, createSecretBox(b).keyId]);

    const file = join(dir, 'ring', 'secret.key');
    const created = loadOrCreateKeyRing(null, file);
    expect(created.keyIds).toHaveLength(1);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The old key goes second in the file while a rotation is under way.
    writeFileSync(file, `${b.toString('hex')}\n${readFileSync(file, 'utf8')}\n`);
    const ring = loadOrCreateKeyRing(null, file);
    expect(ring.keyIds).toEqual([createSecretBox(b).keyId, created.keyId]);
    expect(ring.open(created.seal('kept'))).toBe('kept');
  });
});

describe('generateResultPassword', () => {
  it('is 24 characters of [A-Za-z0-9] (safe through Cloudgene HTML escaping and its 7z shell call)', () => {
    for (let i = 0; i < 200; i++) expect(generateResultPassword()).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  it('differs on every call', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateResultPassword()));
    expect(seen.size).toBe(1000);
  });

  it('honours a requested length and uses the whole alphabet', () => {
    expect(generateResultPassword(40)).toMatch(/^[A-Za-z0-9]{40}$/);
    const chars = new Set(Array.from({ length: 200 }, () => generateResultPassword()).join(''));
    expect(chars.size).toBe(62);
  });
});
