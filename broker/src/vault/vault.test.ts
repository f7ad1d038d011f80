/** The credential vault on a real PostgreSQL: sealing at rest, owners, resolve modes, rotation, expiry flags. */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SignJWT } from 'jose';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeyRing, createSecretBox } from '../crypto/box';
import { openDatabase } from '../db/data-source';
import { createTestDatabase } from '../testing/db';
import type { ScratchDatabase } from '../db/embedded';
import { CredentialError, createVault, fingerprintOf, type CredentialOwner, type Vault } from './vault';
import { ResealError } from './rotate';

const ALICE: CredentialOwner = { issuer: 'https://login.example.org/', subject: 'alice' };
const BOB: CredentialOwner = { issuer: 'https://login.example.org/', subject: 'bob' };
/** Same subject, another issuer: a different person (OIDC Core 5.7). */
const ALICE_ELSEWHERE: CredentialOwner = { issuer: 'https://other-idp.example.org/', subject: 'alice' };

const DAY = 86_400_000;

let db: ScratchDatabase;
let ds: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 4 });
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});
beforeEach(async () => {
  await ds.query('DELETE FROM credentials');
});

/** A distinctive secret, so a search for it in any text cannot hit by chance. */
const secretOf = (tag: string) => `tok-${tag}-${randomBytes(18).toString('base64url')}`;

/** Every column of every credentials row, as text. */
async function tableText(): Promise<string> {
  const rows = (await ds.query('SELECT * FROM credentials')) as unknown[];
  return JSON.stringify(rows);
}

/** A Cloudgene-style API token: an HS256 JWT with `exp`. */
async function cloudgeneToken(expiresAt: Date): Promise<string> {
  return new SignJWT({ token_type: 'API_TOKEN', api: true, username: 'alice' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(randomBytes(32));
}

function newVault(now?: () => Date): { vault: Vault; key: Buffer } {
  const key = randomBytes(32);
  return { vault: createVault(ds, createSecretBox(key), now ? { now } : {}), key };
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('put, list, get, delete', () => {
  it('stores a secret sealed, and resolve gives back exactly what was put', async () => {
    const { vault } = newVault();
    const secret = secretOf('roundtrip');
    const { credential, created } = await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret, label: 'my MIS token' });
    expect(created).toBe(true);
    expect(credential).toMatchObject({ owner: ALICE, backendId: 'mis2', kind: 'api_token', label: 'my MIS token', valid: null, verifiedAt: null });
    expect(credential.fingerprint).toBe(fingerprintOf(secret));
    expect(credential.fingerprint).toMatch(/^sha256:[0-9a-f]{8}$/);

    const resolved = await vault.resolve(ALICE, 'mis2', 'user');
    expect(resolved.source).toBe('user');
    expect(resolved.kind).toBe('api_token');
    expect(resolved.secret.reveal()).toBe(secret);
  });

  it('keeps the secret out of every column: sealed is ciphertext under the current key id', async () => {
    const { vault } = newVault();
    const secret = secretOf('at-rest');
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret });
    await vault.put({ owner: null, backendId: 'topmed', kind: 'api_token', secret: `${secret}-svc` });
    const text = await tableText();
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    expect(text).not.toContain(Buffer.from(secret).toString('base64url'));
    const rows = (await ds.query('SELECT sealed, key_id FROM credentials')) as Array<{ sealed: string; key_id: string }>;
    for (const row of rows) {
      expect(row.sealed).toMatch(new RegExp(`^v1\\.${row.key_id}\\.`));
      expect(row.key_id).toBe(vault.keyId);
    }
  });

  it('never hands out the secret through list, get or the metadata', async () => {
    const { vault } = newVault();
    const secret = secretOf('meta');
    const put = await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret });
    const listed = await vault.list(ALICE);
    const got = await vault.get(ALICE, 'mis2');
    for (const x of [put, listed, got]) expect(JSON.stringify(x)).not.toContain(secret);
    expect(listed).toHaveLength(1);
    expect(Object.keys(listed[0]!).sort()).toEqual(
      ['backendId', 'createdAt', 'expiresAt', 'fingerprint', 'kind', 'label', 'owner', 'updatedAt', 'valid', 'verifiedAt'].sort(),
    );
  });

  it('replaces the owner’s credential for a backend (one per owner and backend), resetting its check', async () => {
    const { vault } = newVault();
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: secretOf('old') });
    await ds.query(`UPDATE credentials SET valid = false, verified_at = now()`);
    const fresh = secretOf('new');
    const second = await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: fresh, label: 'renewed' });
    expect(second.created).toBe(false);
    expect(second.credential).toMatchObject({ label: 'renewed', valid: null, verifiedAt: null });
    expect((await ds.query('SELECT count(*)::int AS n FROM credentials'))[0].n).toBe(1);
    expect((await vault.resolve(ALICE, 'mis2', 'user')).secret.reveal()).toBe(fresh);
  });

  it('keeps one service account per backend as well (owner null)', async () => {
    const { vault } = newVault();
    expect((await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: secretOf('s1') })).created).toBe(true);
    expect((await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: secretOf('s2') })).created).toBe(false);
    expect(await vault.list(null)).toHaveLength(1);
    expect(await vault.list(ALICE)).toEqual([]);
  });

  it('trims a pasted token (a trailing newline would make the backend refuse it)', async () => {
    const { vault } = newVault();
    const secret = secretOf('trim');
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: `  ${secret}\n` });
    expect((await vault.resolve(ALICE, 'mis2', 'user')).secret.reveal()).toBe(secret);
  });

  it('reads the expiry from a Cloudgene API token (a JWT with exp)', async () => {
    const { vault } = newVault();
    const exp = new Date(Math.floor((Date.now() + 30 * DAY) / 1000) * 1000);
    const { credential } = await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: await cloudgeneToken(exp) });
    expect(credential.expiresAt?.toISOString()).toBe(exp.toISOString());
    const opaque = await vault.put({ owner: ALICE, backendId: 'topmed', kind: 'api_token', secret: secretOf('opaque') });
    expect(opaque.credential.expiresAt).toBeNull();
  });

  it('lets no other user see, resolve or delete yours', async () => {
    const { vault } = newVault();
    const secret = secretOf('alice-only');
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret });
    for (const other of [BOB, ALICE_ELSEWHERE]) {
      expect(await vault.list(other)).toEqual([]);
      expect(await vault.get(other, 'mis2')).toBeNull();
      await expect(vault.resolve(other, 'mis2', 'user')).rejects.toMatchObject({ code: 'missing' });
      expect(await vault.delete(other, 'mis2')).toBe(false);
    }
    // Nor is a user's credential the service account.
    await expect(vault.resolve(null, 'mis2', 'service')).rejects.toMatchObject({ code: 'missing' });
    expect(await vault.delete(null, 'mis2')).toBe(false);
    expect((await vault.resolve(ALICE, 'mis2', 'user')).secret.reveal()).toBe(secret);
  });

  it('deletes only the owner’s credential for that backend', async () => {
    const { vault } = newVault();
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: secretOf('a1') });
    await vault.put({ owner: ALICE, backendId: 'topmed', kind: 'api_token', secret: secretOf('a2') });
    await vault.put({ owner: BOB, backendId: 'mis2', kind: 'api_token', secret: secretOf('b1') });
    expect(await vault.delete(ALICE, 'mis2')).toBe(true);
    expect(await vault.delete(ALICE, 'mis2')).toBe(false);
    expect((await vault.list(ALICE)).map((c) => c.backendId)).toEqual(['topmed']);
    expect(await vault.list(BOB)).toHaveLength(1);
  });

  it.each([
    ['an empty secret', { secret: '   ' }, 'secret is empty'],
    ['an unknown kind', { kind: 'password' }, 'kind must be one of api_token, oauth_client'],
    ['a label holding the secret', { label: 'LABEL' }, 'label must not contain the secret'],
    ['an over-long secret', { secret: 'x'.repeat(20_000) }, 'secret is longer than 16384 characters'],
  ])('refuses %s with a bad_input error that does not repeat the input', async (_what, change, message) => {
    const { vault } = newVault();
    const secret = secretOf('bad');
    const input = { owner: ALICE, backendId: 'mis2', kind: 'api_token', secret, ...change } as Parameters<Vault['put']>[0];
    if (input.label === 'LABEL') input.label = `note: ${secret}`;
    const err = await errorOf(vault.put(input));
    expect(err).toBeInstanceOf(CredentialError);
    expect((err as CredentialError).code).toBe('bad_input');
    expect(err.message).toBe(message);
    expect(err.message).not.toContain(secret);
    expect(await tableText()).toBe('[]');
  });
});

describe('resolve', () => {
  it('service mode takes the service account, even when the user has their own', async () => {
    const { vault } = newVault();
    const svc = secretOf('svc');
    await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: svc });
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: secretOf('alice') });
    const r = await vault.resolve(ALICE, 'mis2', 'service');
    expect(r.source).toBe('service');
    expect(r.secret.reveal()).toBe(svc);
    expect((await vault.resolve(null, 'mis2', 'service')).secret.reveal()).toBe(svc);
  });

  it('user mode takes only the user’s own, never the service account', async () => {
    const { vault } = newVault();
    await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: secretOf('svc') });
    const err = await errorOf(vault.resolve(ALICE, 'mis2', 'user'));
    expect(err).toMatchObject({ name: 'CredentialError', code: 'missing', backendId: 'mis2' });
    expect(err.message).toBe(
      "backend mis2 is used with each user's own credential, and none is stored for you; store yours with PUT /api/v1/credentials/mis2",
    );
    await expect(vault.resolve(null, 'mis2', 'user')).rejects.toMatchObject({ code: 'missing' });
  });

  it('user_then_service prefers the user’s own and falls back to the service account', async () => {
    const { vault } = newVault();
    const svc = secretOf('svc');
    const mine = secretOf('mine');
    await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: svc });
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: mine });
    expect(await vault.resolve(ALICE, 'mis2', 'user_then_service')).toMatchObject({ source: 'user' });
    expect((await vault.resolve(ALICE, 'mis2', 'user_then_service')).secret.reveal()).toBe(mine);
    const bob = await vault.resolve(BOB, 'mis2', 'user_then_service');
    expect(bob.source).toBe('service');
    expect(bob.secret.reveal()).toBe(svc);
    expect((await vault.resolve(null, 'mis2', 'user_then_service')).source).toBe('service');
  });

  it('falls back to the service account when the user’s token expired or was refused', async () => {
    const now = new Date('2026-01-10T00:00:00Z');
    const { vault } = newVault(() => now);
    const svc = secretOf('svc');
    await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: svc });
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: secretOf('old'), expiresAt: new Date('2026-01-09T00:00:00Z') });
    await vault.put({ owner: BOB, backendId: 'mis2', kind: 'api_token', secret: secretOf('revoked') });
    await ds.query(`UPDATE credentials SET valid = false, verified_at = $1 WHERE owner_subject = 'bob'`, [now]);
    expect((await vault.resolve(ALICE, 'mis2', 'user_then_service')).secret.reveal()).toBe(svc);
    expect((await vault.resolve(BOB, 'mis2', 'user_then_service')).secret.reveal()).toBe(svc);
    await expect(vault.resolve(ALICE, 'mis2', 'user')).rejects.toThrow(
      'your API token for backend mis2 expired on 2026-01-09T00:00:00.000Z; store a new one with PUT /api/v1/credentials/mis2',
    );
    await expect(vault.resolve(BOB, 'mis2', 'user')).rejects.toMatchObject({ code: 'invalid' });
  });

  it('says what is missing when nothing usable is stored, per mode', async () => {
    const { vault } = newVault();
    await expect(vault.resolve(ALICE, 'mis2', 'service')).rejects.toThrow(
      "backend mis2 is used with the broker's service account, and none is stored; an operator must add one",
    );
    await expect(vault.resolve(ALICE, 'mis2', 'user_then_service')).rejects.toThrow(
      'no credential for backend mis2: store your own with PUT /api/v1/credentials/mis2 (the broker has no usable service account for it)',
    );
    // A user's credential for another backend does not count.
    await vault.put({ owner: ALICE, backendId: 'topmed', kind: 'api_token', secret: secretOf('t') });
    await expect(vault.resolve(ALICE, 'mis2', 'user')).rejects.toMatchObject({ code: 'missing', backendId: 'mis2' });
  });

  it('names the expired user token when user_then_service has nothing else', async () => {
    const now = new Date('2026-01-10T00:00:00Z');
    const { vault } = newVault(() => now);
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: secretOf('old'), expiresAt: new Date('2026-01-01T00:00:00Z') });
    const err = await errorOf(vault.resolve(ALICE, 'mis2', 'user_then_service'));
    expect(err).toMatchObject({ code: 'expired' });
    expect(err.message).toContain('your API token for backend mis2 expired on 2026-01-01T00:00:00.000Z');
  });

  it('gives a secret that prints, logs and serializes as [redacted]', async () => {
    const { vault } = newVault();
    const secret = secretOf('wrapped');
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret });
    const r = await vault.resolve(ALICE, 'mis2', 'user');
    const renderings = [JSON.stringify(r), inspect(r, { depth: 10 }), `${r.secret}`, String(r.secret), inspect(r.secret, { showHidden: true })];
    for (const text of renderings) expect(text).not.toContain(secret);
    expect(JSON.parse(JSON.stringify(r)).secret).toBe('[redacted]');
  });

  it('refuses a sealed row under an unknown key with an unreadable error naming key ids, not the secret', async () => {
    const { vault: writer } = newVault();
    const secret = secretOf('lost-key');
    await writer.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret });
    const { vault: reader } = newVault();
    const err = await errorOf(reader.resolve(ALICE, 'mis2', 'user'));
    expect(err).toMatchObject({ code: 'unreadable' });
    expect(err.message).toContain(`sealed with key ${writer.keyId}; this broker has ${reader.keyId}`);
    expect(err.message).not.toContain(secret);
  });

  it('refuses a tampered row without leaking anything', async () => {
    const { vault } = newVault();
    const secret = secretOf('tamper');
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret });
    await ds.query(`UPDATE credentials SET sealed = regexp_replace(sealed, '\\.[^.]+$', '.AAAA')`);
    const err = await errorOf(vault.resolve(ALICE, 'mis2', 'user'));
    expect(err).toMatchObject({ code: 'unreadable' });
    expect(err.message).not.toContain(secret);
  });
});

describe('rotate', () => {
  async function fill(vault: Vault, n: number): Promise<Map<string, string>> {
    const secrets = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const owner = { issuer: 'https://login.example.org/', subject: `user-${i}` };
      const secret = secretOf(`u${i}`);
      await vault.put({ owner, backendId: 'mis2', kind: 'api_token', secret });
      secrets.set(owner.subject, secret);
    }
    const svc = secretOf('svc');
    await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: svc });
    secrets.set('', svc);
    return secrets;
  }

  async function expectReadable(vault: Vault, secrets: Map<string, string>): Promise<void> {
    for (const [subject, secret] of secrets) {
      const owner = subject ? { issuer: 'https://login.example.org/', subject } : null;
      const r = await vault.resolve(owner, 'mis2', owner ? 'user' : 'service');
      expect(r.secret.reveal()).toBe(secret);
    }
  }

  it('re-encrypts every row under the new key, in batches; the old key alone no longer opens them', async () => {
    const { vault, key: oldKey } = newVault();
    const secrets = await fill(vault, 25);
    const before = (await ds.query('SELECT id, sealed FROM credentials ORDER BY id')) as Array<{ id: string; sealed: string }>;
    const next = createSecretBox(randomBytes(32));
    const batches: number[] = [];
    const report = await vault.rotate(next, { batchSize: 7, onBatch: ({ done }) => void batches.push(done) });
    expect(report).toEqual({ keyId: next.keyId, rotated: 26, remaining: 0 });
    expect(batches).toEqual([7, 14, 21, 26]);

    const after = (await ds.query('SELECT id, sealed, key_id FROM credentials ORDER BY id')) as Array<{ id: string; sealed: string; key_id: string }>;
    for (const [i, row] of after.entries()) {
      expect(row.key_id).toBe(next.keyId);
      expect(row.sealed.startsWith(`v1.${next.keyId}.`)).toBe(true);
      expect(row.sealed).not.toBe(before[i]!.sealed);
      expect(() => createSecretBox(oldKey).open(row.sealed)).toThrow(/sealed with key/);
    }
    // The vault goes on with the new key; a vault on the new key alone reads everything.
    expect(vault.keyId).toBe(next.keyId);
    await expectReadable(vault, secrets);
    await expectReadable(createVault(ds, next), secrets);
    const { vault: oldOnly } = { vault: createVault(ds, createSecretBox(oldKey)) };
    await expect(oldOnly.resolve(null, 'mis2', 'service')).rejects.toMatchObject({ code: 'unreadable' });
    // New secrets are sealed with the new key.
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: secretOf('later') });
    expect((await ds.query(`SELECT key_id FROM credentials WHERE owner_subject = 'alice'`))[0].key_id).toBe(next.keyId);
  });

  it('an interrupted rotation (throw mid-way) changes nothing: every row still opens with the old key', async () => {
    const { vault, key: oldKey } = newVault();
    const secrets = await fill(vault, 12);
    const before = (await ds.query('SELECT id, sealed, key_id FROM credentials ORDER BY id')) as unknown[];
    const next = createSecretBox(randomBytes(32));
    let batches = 0;
    const err = await errorOf(
      vault.rotate(next, {
        batchSize: 5,
        onBatch: () => {
          batches++;
          if (batches === 2) throw new Error('killed mid-rotation');
        },
      }),
    );
    expect(err.message).toBe('killed mid-rotation');
    expect(await ds.query('SELECT id, sealed, key_id FROM credentials ORDER BY id')).toEqual(before);
    expect(vault.keyId).toBe(createSecretBox(oldKey).keyId);
    await expectReadable(vault, secrets);
    await expectReadable(createVault(ds, createSecretBox(oldKey)), secrets);
    // And it can simply be run again.
    expect((await vault.rotate(next)).rotated).toBe(13);
    await expectReadable(createVault(ds, next), secrets);
  });

  it('an interrupted rotation via a failing seal also rolls back', async () => {
    const { vault, key: oldKey } = newVault();
    const secrets = await fill(vault, 6);
    const real = createSecretBox(randomBytes(32));
    let seals = 0;
    const flaky = {
      ...real,
      seal(text: string) {
        if (++seals === 4) throw new Error('disk full');
        return real.seal(text);
      },
    };
    await expect(vault.rotate(flaky, { batchSize: 2 })).rejects.toThrow('disk full');
    const keyIds = (await ds.query('SELECT DISTINCT key_id FROM credentials')) as Array<{ key_id: string }>;
    expect(keyIds).toEqual([{ key_id: createSecretBox(oldKey).keyId }]);
    await expectReadable(createVault(ds, createSecretBox(oldKey)), secrets);
  });

  it('rows under a key the vault does not hold stop the rotation before anything changes', async () => {
    const { vault } = newVault();
    await fill(vault, 3);
    const { vault: stranger } = newVault();
    const strangerSecret = secretOf('stranger');
    await stranger.put({ owner: BOB, backendId: 'topmed', kind: 'api_token', secret: strangerSecret });
    const before = (await ds.query('SELECT id, sealed FROM credentials ORDER BY id')) as unknown[];
    const err = await errorOf(vault.rotate(createSecretBox(randomBytes(32))));
    expect(err).toBeInstanceOf(ResealError);
    expect(err.message).toMatch(/^credentials: row [0-9a-f-]{36} cannot be opened with the keys given \(sealed with key .+\); nothing was re-encrypted$/);
    expect(err.message).not.toContain(strangerSecret);
    expect(await ds.query('SELECT id, sealed FROM credentials ORDER BY id')).toEqual(before);
  });

  it('a vault on a ring (new key first, old key second) reads rows under either key', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const old = createVault(ds, createSecretBox(oldKey));
    const a = secretOf('a');
    await old.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: a });
    const ring = createVault(ds, createKeyRing([newKey, oldKey]));
    const b = secretOf('b');
    await ring.put({ owner: BOB, backendId: 'mis2', kind: 'api_token', secret: b });
    expect((await ring.resolve(ALICE, 'mis2', 'user')).secret.reveal()).toBe(a);
    expect((await ring.resolve(BOB, 'mis2', 'user')).secret.reveal()).toBe(b);
    expect(ring.keyIds).toEqual([createSecretBox(newKey).keyId, createSecretBox(oldKey).keyId]);
    expect((await ring.rotate(createSecretBox(newKey))).rotated).toBe(1);
  });
});

describe('flagExpiring', () => {
  const now = new Date('2026-03-01T12:00:00Z');

  it('flags invalid, expired and soon-expiring tokens, records the check, and leaves the rest alone', async () => {
    const { vault } = newVault(() => now);
    const tokens = {
      fresh: secretOf('fresh'),
      soon: secretOf('soon'),
      expired: secretOf('expired'),
      revoked: secretOf('revoked'),
      svcSoon: secretOf('svc-soon'),
    };
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: tokens.fresh });
    await vault.put({ owner: ALICE, backendId: 'topmed', kind: 'api_token', secret: tokens.soon });
    await vault.put({ owner: BOB, backendId: 'mis2', kind: 'api_token', secret: tokens.expired });
    await vault.put({ owner: BOB, backendId: 'topmed', kind: 'api_token', secret: tokens.revoked });
    await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: tokens.svcSoon });
    await vault.put({ owner: ALICE, backendId: 'dnastack', kind: 'oauth_client', secret: secretOf('client') });

    const answers = new Map<string, { valid: boolean; expiresAt: Date | null }>([
      [tokens.fresh, { valid: true, expiresAt: new Date(now.getTime() + 20 * DAY) }],
      [tokens.soon, { valid: true, expiresAt: new Date(now.getTime() + 3 * DAY) }],
      [tokens.expired, { valid: true, expiresAt: new Date(now.getTime() - DAY) }],
      [tokens.revoked, { valid: false, expiresAt: null }],
      [tokens.svcSoon, { valid: true, expiresAt: new Date(now.getTime() + 6.5 * DAY) }],
    ]);
    const asked: string[] = [];
    const flagged = await vault.flagExpiring(async (secret, { backendId }) => {
      asked.push(backendId);
      const answer = answers.get(secret);
      if (!answer) throw new Error('verify was given something that is not a stored token');
      return answer;
    });
    expect(asked).toHaveLength(5); // the OAuth client is not a token to check
    const summary = flagged.map((f) => [f.owner?.subject ?? 'service', f.backendId, f.reason]).sort();
    expect(summary).toEqual([
      ['alice', 'topmed', 'expiring'],
      ['bob', 'mis2', 'expired'],
      ['bob', 'topmed', 'invalid'],
      ['service', 'mis2', 'expiring'],
    ]);
    expect(JSON.stringify(flagged)).not.toMatch(/tok-/);

    const alice = await vault.list(ALICE);
    const topmed = alice.find((c) => c.backendId === 'topmed')!;
    expect(topmed).toMatchObject({ valid: true, verifiedAt: now, expiresAt: new Date(now.getTime() + 3 * DAY) });
    expect((await vault.get(BOB, 'topmed'))?.valid).toBe(false);
    // Refused tokens are no longer handed out.
    await expect(vault.resolve(BOB, 'topmed', 'user')).rejects.toMatchObject({ code: 'invalid' });
  });

  it('honours a wider window and a backend filter', async () => {
    const { vault } = newVault(() => now);
    const t = secretOf('t');
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: t });
    await vault.put({ owner: ALICE, backendId: 'topmed', kind: 'api_token', secret: secretOf('u') });
    const verify = async () => ({ valid: true, expiresAt: new Date(now.getTime() + 10 * DAY) });
    expect(await vault.flagExpiring(verify)).toEqual([]);
    const wide = await vault.flagExpiring(verify, 14, { backendIds: ['mis2'] });
    expect(wide).toEqual([{ owner: ALICE, backendId: 'mis2', reason: 'expiring', expiresAt: new Date(now.getTime() + 10 * DAY) }]);
  });

  it('keeps the known expiry when the check does not give one, and skips backends it cannot check', async () => {
    const { vault } = newVault(() => now);
    const exp = new Date(now.getTime() + 2 * DAY);
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret: secretOf('a'), expiresAt: exp });
    await vault.put({ owner: ALICE, backendId: 'wes-node', kind: 'api_token', secret: secretOf('w') });
    const flagged = await vault.flagExpiring(async (_s, { backendId }) => (backendId === 'mis2' ? { valid: true, expiresAt: null } : null));
    expect(flagged).toEqual([{ owner: ALICE, backendId: 'mis2', reason: 'expiring', expiresAt: exp }]);
    expect((await vault.get(ALICE, 'wes-node'))?.verifiedAt).toBeNull();
  });

  it('does not flag a token it could not check (backend down), and masks the secret in the reported error', async () => {
    const { vault } = newVault(() => now);
    const secret = secretOf('echoed');
    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret });
    const errors: string[] = [];
    const flagged = await vault.flagExpiring(
      async (s) => {
        // A careless client that echoes what it sent, raw and URL-encoded.
        throw new Error(`POST /api/v2/tokens/verify failed: token=${encodeURIComponent(s)} body={"token":"${s}"} ECONNREFUSED`);
      },
      7,
      { onError: (_ref, message) => errors.push(message) },
    );
    expect(flagged).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('could not check the token for backend mis2');
    expect(errors[0]).toContain('ECONNREFUSED');
    expect(errors[0]).not.toContain(secret);
    expect((await vault.get(ALICE, 'mis2'))?.verifiedAt).toBeNull();
  });
});

describe('secrets never appear in error messages', () => {
  it('covers every error the vault raises for a stored secret', async () => {
    const secret = secretOf('forced');
    const { vault } = newVault(() => new Date('2026-01-10T00:00:00Z'));
    const messages: string[] = [];
    const collect = async (p: Promise<unknown>) => messages.push((await errorOf(p)).message);

    await vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret, expiresAt: new Date('2026-01-01T00:00:00Z') });
    await collect(vault.resolve(ALICE, 'mis2', 'user')); // expired
    await collect(vault.resolve(ALICE, 'mis2', 'user_then_service')); // expired, no fallback
    await collect(vault.put({ owner: ALICE, backendId: 'mis2', kind: 'api_token', secret, label: `${secret}` })); // label
    await collect(vault.put({ owner: ALICE, backendId: 'mis2', kind: 'nope' as 'api_token', secret })); // kind
    await collect(vault.put({ owner: ALICE, backendId: '', kind: 'api_token', secret })); // backend
    await collect(vault.resolve(ALICE, 'mis2', 'sideways' as 'user')); // mode
    await collect(createVault(ds, createSecretBox(randomBytes(32))).resolve(ALICE, 'mis2', 'user')); // wrong key
    await collect(createVault(ds, createSecretBox(randomBytes(32))).rotate(createSecretBox(randomBytes(32)))); // rotation, wrong key
    await ds.query(`UPDATE credentials SET sealed = 'v1.' || key_id || '.AAAA.AAAA.AAAA'`);
    await collect(vault.resolve(ALICE, 'mis2', 'user')); // tampered

    expect(messages).toHaveLength(9);
    for (const m of messages) {
      expect(m).not.toContain(secret);
      expect(m).not.toContain(secret.slice(4, 20));
    }
  });
});
