/** Migration 0003: the credentials table's constraints hold in the database itself, and it reverts cleanly. */
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/data-source';
import { Vault1763900000001 } from '../db/migrations/0003-vault';
import type { ScratchDatabase } from '../db/embedded';
import { createTestDatabase } from '../testing/db';

let db: ScratchDatabase;
let ds: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 2 });
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

const insert = (issuer: string | null, subject: string | null, backend: string, kind = 'api_token') =>
  ds.query(
    `INSERT INTO credentials (id, owner_issuer, owner_subject, backend_id, kind, sealed, key_id, fingerprint)
     VALUES (gen_random_uuid(), $1, $2, $3, $4, 'v1.k.i.t.c', 'k', 'sha256:00000000')`,
    [issuer, subject, backend, kind],
  );

describe('credentials table', () => {
  it('holds one credential per user and backend, and one service account per backend', async () => {
    await insert('https://idp/', 'alice', 'mis2');
    await insert('https://idp/', 'alice', 'topmed');
    await insert('https://idp/', 'bob', 'mis2');
    await insert(null, null, 'mis2');
    await expect(insert('https://idp/', 'alice', 'mis2')).rejects.toThrow(/credentials_user_backend/);
    await expect(insert(null, null, 'mis2')).rejects.toThrow(/credentials_service_backend/);
  });

  it('refuses half an owner and unknown kinds', async () => {
    await expect(insert('https://idp/', null, 'x')).rejects.toThrow(/check constraint/);
    await expect(insert(null, 'alice', 'x')).rejects.toThrow(/check constraint/);
    await expect(insert('https://idp/', 'carol', 'x', 'password')).rejects.toThrow(/check constraint/);
  });

  it('reverts and re-applies', async () => {
    // Directly, not undoLastMigration: a later migration would be the last one.
    const migration = new Vault1763900000001();
    const q = ds.createQueryRunner();
    try {
      await migration.down(q);
      expect(await ds.query(`SELECT to_regclass('credentials') AS t`)).toEqual([{ t: null }]);
      await migration.up(q);
    } finally {
      await q.release();
    }
    expect(await ds.query(`SELECT to_regclass('credentials')::text AS t`)).toEqual([{ t: 'credentials' }]);
  });
});
