/** The key-rotation command on a real PostgreSQL: credentials and run result passwords move to the new key together. */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeyRing, createSecretBox, generateResultPassword, parseKey, type SecretBox } from '../crypto/box';
import { openDatabase } from '../db/data-source';
import type { ScratchDatabase } from '../db/embedded';
import { createTestDatabase } from '../testing/db';
import { rotateKeyCommand } from './rotate-cli';
import { createVault } from './vault';

let db: ScratchDatabase;
let ds: DataSource;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 4 });
  dir = mkdtempSync(join(tmpdir(), 'ibroker-rotate-'));
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await ds.query('DELETE FROM credentials');
  await ds.query('DELETE FROM webhooks');
  await ds.query('DELETE FROM runs');
});

interface Stored {
  secrets: string[];
  passwords: string[];
}

/** Credentials through the vault and runs with sealed result passwords, as the broker stores them. */
async function seed(box: SecretBox, n: number): Promise<Stored> {
  const vault = createVault(ds, box);
  const stored: Stored = { secrets: [], passwords: [] };
  for (let i = 0; i < n; i++) {
    const secret = `tok-${i}-${randomBytes(16).toString('base64url')}`;
    await vault.put({ owner: { issuer: 'https://idp.example.org/', subject: `u${i}-${randomUUID()}` }, backendId: 'mis2', kind: 'api_token', secret });
    stored.secrets.push(secret);
    const password = generateResultPassword();
    await ds.query(
      `INSERT INTO runs (id, owner_key, owner_issuer, owner_subject, state, request, params, requested_backend, password_enc)
       VALUES ($1, 'u,idp', 'https://idp.example.org/', 'u', 'QUEUED', '{}', '{}', 'mis2', $2)`,
      [randomUUID(), box.seal(password)],
    );
    stored.passwords.push(password);
    // A webhook's signing secret (issue 5) is sealed with the same ring.
    const hookSecret = `whsec_${randomBytes(32).toString('base64url')}`;
    await ds.query(
      `INSERT INTO webhooks (id, owner_issuer, owner_subject, url, events, secret_enc) VALUES ($1, 'https://idp.example.org/', 'u', 'https://hooks.example.org/x', '{run.state}', $2)`,
      [randomUUID(), box.seal(hookSecret)],
    );
    stored.secrets.push(hookSecret);
  }
  return stored;
}

async function allSealed(): Promise<string[]> {
  const creds = (await ds.query('SELECT sealed FROM credentials')) as Array<{ sealed: string }>;
  const runs = (await ds.query('SELECT password_enc FROM runs')) as Array<{ password_enc: string }>;
  const hooks = (await ds.query('SELECT secret_enc FROM webhooks')) as Array<{ secret_enc: string }>;
  return [...creds.map((r) => r.sealed), ...runs.map((r) => r.password_enc), ...hooks.map((r) => r.secret_enc)];
}

async function openedWith(box: SecretBox): Promise<string[]> {
  return (await allSealed()).map((s) => box.open(s)).sort();
}

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await rotateKeyCommand(argv, { env, print: (l) => lines.push(l), ds });
  return { code, out: lines.join('\n') };
}

function expectNoSecrets(out: string, stored: Stored, keys: Buffer[]): void {
  for (const s of [...stored.secrets, ...stored.passwords]) expect(out).not.toContain(s);
  for (const k of keys) for (const form of [k.toString('hex'), k.toString('base64'), k.toString('base64url')]) expect(out).not.toContain(form);
}

describe('rotate-key', () => {
  it('re-encrypts every credential and run password under a new key file it creates (0600)', async () => {
    const oldKey = randomBytes(32);
    const oldBox = createSecretBox(oldKey);
    const stored = await seed(oldBox, 7);
    const newKeyFile = join(dir, 'new-1.key');
    const { code, out } = await run(['--new-key-file', newKeyFile, '--batch-size', '3'], { SECRET_KEY: oldKey.toString('hex') });
    expect(code).toBe(0);
    expect(statSync(newKeyFile).mode & 0o777).toBe(0o600);
    const newKey = parseKey(readFileSync(newKeyFile, 'utf8'));
    const newBox = createSecretBox(newKey);
    expect(out).toContain(`current key(s) from SECRET_KEY: ${oldBox.keyId}`);
    expect(out).toContain(`new key ${newBox.keyId} from ${newKeyFile} (created, mode 0600)`);
    expect(out).toContain('credentials: 7 to re-encrypt');
    expect(out).toContain('runs.password_enc: 7 to re-encrypt');
    expect(out).toContain('credentials: 7 re-encrypted');
    expect(out).toContain('runs.password_enc: 7 re-encrypted');
    expect(out).toContain('webhooks.secret_enc: 7 re-encrypted');
    expect(out).toContain(`done: everything is sealed under ${newBox.keyId}`);
    expectNoSecrets(out, stored, [oldKey, newKey]);

    expect(await openedWith(newBox)).toEqual([...stored.secrets, ...stored.passwords].sort());
    for (const s of await allSealed()) expect(() => oldBox.open(s)).toThrow(/sealed with key/);
    expect(new Set(((await ds.query('SELECT key_id FROM credentials')) as Array<{ key_id: string }>).map((r) => r.key_id))).toEqual(new Set([newBox.keyId]));
    // Again: nothing left to do.
    const again = await run(['--new-key-file', newKeyFile], { SECRET_KEY: newKey.toString('hex') });
    expect(again.code).toBe(0);
    expect(again.out).toContain('credentials: 0 re-encrypted');
  });

  it('takes the current keys from a key file holding several (mid-rotation), and rows under any of them', async () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const storedA = await seed(createSecretBox(a), 2);
    const storedB = await seed(createSecretBox(b), 2);
    const keyFile = join(dir, 'current.key');
    writeFileSync(keyFile, `${a.toString('hex')}\n${b.toString('hex')}\n`);
    const newKey = randomBytes(32);
    const newKeyFile = join(dir, 'given.key');
    writeFileSync(newKeyFile, newKey.toString('base64'));
    const { code, out } = await run(['--new-key-file', newKeyFile, '--key-file', keyFile], {});
    expect(code).toBe(0);
    expect(out).toContain(`current key(s) from ${keyFile}: ${createSecretBox(a).keyId}, ${createSecretBox(b).keyId}`);
    expect(out).not.toContain('created');
    expect(await openedWith(createSecretBox(newKey))).toEqual(
      [...storedA.secrets, ...storedA.passwords, ...storedB.secrets, ...storedB.passwords].sort(),
    );
  });

  it('counts only on --dry-run', async () => {
    const oldKey = randomBytes(32);
    await seed(createSecretBox(oldKey), 3);
    const before = await allSealed();
    const newKeyFile = join(dir, 'dry.key');
    writeFileSync(newKeyFile, randomBytes(32).toString('hex'));
    const { code, out } = await run(['--new-key-file', newKeyFile, '--dry-run'], { SECRET_KEY: oldKey.toString('hex') });
    expect(code).toBe(0);
    expect(out).toContain('credentials: 3 to re-encrypt');
    expect(out).not.toContain('re-encrypted');
    expect(await allSealed()).toEqual(before);
    // A dry run never creates a key file.
    const missing = join(dir, 'never-created.key');
    expect((await run(['--new-key-file', missing, '--dry-run'], { SECRET_KEY: oldKey.toString('hex') })).code).toBe(1);
    expect(existsSync(missing)).toBe(false);
  });

  it('with the wrong current key changes nothing and says which row it could not open', async () => {
    const realKey = randomBytes(32);
    const stored = await seed(createSecretBox(realKey), 4);
    const before = await allSealed();
    const wrongKey = randomBytes(32);
    const { code, out } = await run(['--new-key-file', join(dir, 'unused.key')], { SECRET_KEY: wrongKey.toString('hex') });
    expect(code).toBe(1);
    expect(out).toMatch(/credentials: row [0-9a-f-]{36} cannot be opened with the keys given .*; nothing was re-encrypted/);
    expect(await allSealed()).toEqual(before);
    expectNoSecrets(out, stored, [realKey, wrongKey]);
  });

  it('rolls back credentials already re-encrypted when a run password cannot be opened', async () => {
    const key = randomBytes(32);
    await seed(createSecretBox(key), 3);
    await ds.query(
      `INSERT INTO runs (id, owner_key, owner_issuer, owner_subject, state, request, params, requested_backend, password_enc)
       VALUES ($1, 'x', 'x', 'x', 'QUEUED', '{}', '{}', 'mis2', $2)`,
      [randomUUID(), createSecretBox(randomBytes(32)).seal('orphan')],
    );
    const before = await allSealed();
    const { code, out } = await run(['--new-key-file', join(dir, 'rollback.key')], { SECRET_KEY: key.toString('hex') });
    expect(code).toBe(1);
    expect(out).toMatch(/^runs\.password_enc: row .* nothing was re-encrypted$/m);
    expect(await allSealed()).toEqual(before);
    expect(await openedWith(createKeyRing([key, randomBytes(32)])).catch((e: Error) => e.message)).toMatch(/not among the keys/);
  });

  it.each([
    [[], 2, '--new-key-file is required'],
    [['--new-key-file'], 2, "Option '--new-key-file <value>' argument missing"],
    [['--new-key-file', 'x', '--bogus'], 2, "Unknown option '--bogus'"],
    [['--new-key-file', 'x', '--batch-size', '0'], 2, '--batch-size must be a whole number, at least 1'],
    [['--help'], 0, 'usage: npx tsx scripts/rotate-key.ts'],
  ])('argv %j exits %i saying %j', async (argv, exitCode, says) => {
    const { code, out } = await run(argv, {});
    expect(code).toBe(exitCode);
    expect(out).toContain(says);
  });

  it('refuses to guess the current key when none is given', async () => {
    const { code, out } = await run(['--new-key-file', join(dir, 'n.key')], { DATA_DIR: join(dir, 'empty-data') });
    expect(code).toBe(1);
    expect(out).toContain('no current key: set SECRET_KEY or give --key-file');
    expect(existsSync(join(dir, 'empty-data', 'secret.key'))).toBe(false);
  });

  it('runs as a script with DATABASE_URL (npx tsx scripts/rotate-key.ts)', async () => {
    const oldKey = randomBytes(32);
    const stored = await seed(createSecretBox(oldKey), 2);
    const newKeyFile = join(dir, 'script.key');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/rotate-key.ts', '--new-key-file', newKeyFile],
      { env: { ...process.env, DATABASE_URL: db.url, SECRET_KEY: oldKey.toString('base64') }, cwd: join(import.meta.dirname, '../../..') },
    );
    expect(stdout).toContain('credentials: 2 re-encrypted');
    expect(stdout).toContain('runs.password_enc: 2 re-encrypted');
    expectNoSecrets(stdout, stored, [oldKey]);
    expect(await openedWith(createSecretBox(parseKey(readFileSync(newKeyFile, 'utf8'))))).toEqual([...stored.secrets, ...stored.passwords].sort());
  });
});
