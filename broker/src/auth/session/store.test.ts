/** The session store on a real PostgreSQL: lifetimes, single-use logins, locked refresh. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createKeyRing } from '../../crypto/box';
import { openDatabase } from '../../db/data-source';
import type { ScratchDatabase } from '../../db/embedded';
import { createTestDatabase } from '../../testing/db';
import { randomToken, tokenHash } from './cookies';
import { createSessionStore, type NewSession, type SessionStore } from './store';

let db: ScratchDatabase;
let ds: DataSource;
const box = createKeyRing([randomBytes(32)]);
let clock = Date.now();
let store: SessionStore;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 5 });
  store = createSessionStore(ds, box, { absoluteTtlSec: 3600, idleTtlSec: 600, pendingTtlSec: 60, now: () => clock });
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

const newSession = (over: Partial<NewSession> = {}): NewSession => ({
  issuer: 'https://idp.example',
  subject: 'alice',
  accessToken: `access-${randomToken()}`,
  refreshToken: `refresh-${randomToken()}`,
  expiresAt: new Date(clock + 300_000),
  idTokenClaims: { sub: 'alice' },
  ...over,
});

describe('sessions', () => {
  it('are found by the cookie value, stored by its hash, with the tokens sealed', async () => {
    const s = newSession();
    const { cookie, session } = await store.create(s);
    expect(session.id).toBe(tokenHash(cookie));
    const found = await store.find(cookie);
    expect(found).toMatchObject({ subject: 'alice', accessToken: s.accessToken, refreshToken: s.refreshToken });
    const raw = JSON.stringify(await ds.query('SELECT * FROM sessions WHERE id = $1', [session.id]));
    expect(raw).not.toContain(cookie);
    expect(raw).not.toContain(s.accessToken);
    expect(raw).not.toContain(s.refreshToken);
    expect(await store.find(randomToken())).toBeNull();
    expect(await store.find('short')).toBeNull();
    expect(await store.find(undefined)).toBeNull();
  });

  it('end after the idle time, the absolute lifetime, or an expired token without a refresh token', async () => {
    const start = clock;
    try {
      const idle = await store.create(newSession());
      const absolute = await store.create(newSession());
      const noRefresh = await store.create(newSession({ refreshToken: null, expiresAt: new Date(start + 120_000) }));

      clock = start + 300_000;
      expect(await store.find(absolute.cookie)).not.toBeNull(); // seen: idle timer restarts
      expect(await store.find(noRefresh.cookie)).toBeNull(); // token expired, nothing to refresh with
      clock = start + 601_000;
      expect(await store.find(idle.cookie)).toBeNull();
      for (let t = start + 800_000; t < start + 3_600_000; t += 500_000) {
        clock = t;
        expect(await store.find(absolute.cookie)).not.toBeNull();
      }
      clock = start + 3_600_000;
      expect(await store.find(absolute.cookie)).toBeNull();
      expect(await ds.query('SELECT id FROM sessions WHERE id = ANY($1)', [[idle.session.id, absolute.session.id, noRefresh.session.id]])).toEqual([]);
    } finally {
      clock = start;
    }
  });

  it('are swept when ended, and can all be ended for one person', async () => {
    await ds.query('DELETE FROM sessions');
    await store.create(newSession());
    await store.create(newSession({ subject: 'bob' }));
    await store.create(newSession({ refreshToken: null, expiresAt: new Date(clock - 1000) }));
    expect(await store.sweep()).toBe(1);
    expect(await store.deleteAllFor('https://idp.example', 'alice')).toBe(1);
    expect((await ds.query('SELECT subject FROM sessions')).map((r: { subject: string }) => r.subject)).toEqual(['bob']);
  });

  it('refresh under a row lock: concurrent refreshes spend the refresh token once', async () => {
    const { cookie, session } = await store.create(newSession({ expiresAt: new Date(clock + 10_000) }));
    let spent = 0;
    const refresh = () =>
      store.refreshLocked(session.id, async (current) => {
        if (current.expiresAt.getTime() - clock > 60_000) return 'keep';
        spent++;
        await new Promise((r) => setTimeout(r, 100));
        return { accessToken: 'fresh-access', refreshToken: 'fresh-refresh', expiresAt: new Date(clock + 3_600_000) };
      });
    const results = await Promise.all([refresh(), refresh(), refresh()]);
    expect(spent).toBe(1);
    expect(results.every((r) => r?.accessToken === 'fresh-access')).toBe(true);
    expect((await store.find(cookie))?.refreshToken).toBe('fresh-refresh');
    expect(await store.refreshLocked(session.id, async () => 'end')).toBeNull();
    expect(await store.find(cookie)).toBeNull();
  });
});

describe('pending logins', () => {
  const login = () => ({ state: randomToken(), binding: randomToken(), nonce: randomToken(), codeVerifier: randomToken(), returnTo: '/runs' });

  it('are taken once', async () => {
    const l = login();
    await store.beginLogin(l);
    const taken = await store.takeLogin(l.state);
    expect(taken).toMatchObject({ nonce: l.nonce, codeVerifier: l.codeVerifier, returnTo: '/runs', bindingHash: tokenHash(l.binding) });
    expect(await store.takeLogin(l.state)).toBeNull();
    expect(await store.takeLogin(randomToken())).toBeNull();
    expect(await store.takeLogin('')).toBeNull();
  });

  it('expire, and stale ones are cleared as new logins begin', async () => {
    const start = clock;
    try {
      const old = login();
      await store.beginLogin(old);
      clock = start + 61_000;
      expect(await store.takeLogin(old.state)).toBeNull();
      const stale = login();
      clock = start;
      await store.beginLogin(stale);
      clock = start + 61_000;
      await store.beginLogin(login());
      expect(await ds.query('SELECT 1 FROM pending_logins WHERE state_hash = $1', [tokenHash(stale.state)])).toEqual([]);
    } finally {
      clock = start;
    }
  });
});
