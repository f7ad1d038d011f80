/**
 * flagExpiring against the real Cloudgene simulator's `POST /api/v2/tokens/verify`: a token close
 * to its end, a superseded one (Cloudgene keeps one API token per user) and a healthy one.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '@ibroker/adapters/cloudgene/simulator/test-helpers';
import { createSecretBox } from '../crypto/box';
import { openDatabase } from '../db/data-source';
import type { ScratchDatabase } from '../db/embedded';
import { createTestDatabase } from '../testing/db';
import { cloudgeneTokenCheck } from './cloudgene-check';
import { createVault } from './vault';

const DAY = 86_400_000;
const owner = (subject: string) => ({ issuer: 'https://idp.example.org/', subject });

let db: ScratchDatabase;
let ds: DataSource;
let h: Harness;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 2 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  await ds?.destroy();
  await db?.drop();
});

describe('cloudgeneTokenCheck', () => {
  it('flags the near-expiry and the superseded token from what the server says, and not the healthy one', async () => {
    const vault = createVault(ds, createSecretBox(randomBytes(32)));
    const shortLived = await h.sim.createApiToken('jdoe', { expirationDays: 3 });
    const superseded = h.otherToken;
    await h.sim.createApiToken('other'); // one API token per user: the stored one stops working
    await vault.put({ owner: owner('jdoe'), backendId: 'mis2', kind: 'api_token', secret: shortLived });
    await vault.put({ owner: owner('other'), backendId: 'mis2', kind: 'api_token', secret: superseded });
    await vault.put({ owner: null, backendId: 'mis2', kind: 'api_token', secret: h.adminToken });
    await vault.put({ owner: owner('jdoe'), backendId: 'elsewhere', kind: 'api_token', secret: 'not-checked-token' });

    const verify = cloudgeneTokenCheck([
      { id: 'mis2', kind: 'cloudgene', url: h.base },
    ]);
    const errors: string[] = [];
    const flagged = await vault.flagExpiring(verify, 7, { onError: (_r, m) => errors.push(m) });
    expect(errors).toEqual([]);
    const summary = flagged.map((f) => [f.owner?.subject ?? 'service', f.backendId, f.reason]).sort();
    expect(summary).toEqual([
      ['jdoe', 'mis2', 'expiring'],
      ['other', 'mis2', 'invalid'],
    ]);
    const jdoe = flagged.find((f) => f.owner?.subject === 'jdoe')!;
    expect(Math.round((jdoe.expiresAt!.getTime() - Date.now()) / DAY)).toBe(3);

    const service = await vault.get(null, 'mis2');
    expect(service?.valid).toBe(true);
    expect(service?.verifiedAt).not.toBeNull();
    expect((service!.expiresAt!.getTime() - Date.now()) / DAY).toBeGreaterThan(29);
    expect((await vault.get(owner('other'), 'mis2'))?.valid).toBe(false);
    expect((await vault.get(owner('jdoe'), 'elsewhere'))?.verifiedAt).toBeNull();
  });

  it('reports an unreachable server as an error without flagging or leaking the token', async () => {
    await ds.query('DELETE FROM credentials');
    const vault = createVault(ds, createSecretBox(randomBytes(32)));
    await vault.put({ owner: owner('jdoe'), backendId: 'mis2', kind: 'api_token', secret: h.token });
    const verify = cloudgeneTokenCheck([{ id: 'mis2', kind: 'cloudgene', url: 'http://127.0.0.1:9' }], { timeoutMs: 2000 });
    const errors: string[] = [];
    expect(await vault.flagExpiring(verify, 7, { onError: (_r, m) => errors.push(m) })).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^could not check the token for backend mis2: /);
    expect(errors[0]).not.toContain(h.token);
    expect((await vault.get(owner('jdoe'), 'mis2'))?.valid).toBeNull();
  });
});
