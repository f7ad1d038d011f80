/**
 * Per-backend request budgets and Retry-After pauses are shared by every broker on one database:
 * two brokers (two DataSources, two connection pools, as two app instances have) calling at
 * once together never exceed the budget, and a pause one of them records stops the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../db/data-source';
import type { ScratchDatabase } from '../db/embedded';
import { createTestDatabase } from '../testing/db';
import { BackendLimits, LimitWait } from './limits';

let db: ScratchDatabase;
let one: DataSource;
let two: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  one = await openDatabase(db.url, { poolSize: 8 });
  two = await openDatabase(db.url, { poolSize: 8 });
});
afterAll(async () => {
  await one?.destroy();
  await two?.destroy();
  await db?.drop();
});

async function outcome(p: Promise<void>): Promise<'ok' | LimitWait> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof LimitWait) return e;
    throw e;
  }
}

describe('BackendLimits', () => {
  it('two brokers calling at once share one budget per minute: exactly the limit gets through', async () => {
    const a = new BackendLimits(one);
    const b = new BackendLimits(two);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => outcome((i % 2 ? a : b).take('mis2', 15))));
    const allowed = results.filter((r) => r === 'ok').length;
    const refused = results.filter((r): r is LimitWait => r !== 'ok');
    // The minute may turn during the burst, which gives one more budget; never more than that.
    expect(allowed).toBeGreaterThanOrEqual(15);
    expect(allowed).toBeLessThanOrEqual(30);
    expect(refused.length).toBe(40 - allowed);
    for (const r of refused) {
      expect(r.why).toBe('rate');
      expect(r.waitMs).toBeGreaterThan(0);
      expect(r.waitMs).toBeLessThanOrEqual(60_000);
    }
    expect(await a.used('mis2')).toBeLessThanOrEqual(15);
    // Another backend's budget is its own.
    await expect(b.take('afrigen', 15)).resolves.toBeUndefined();
  });

  it('a backend without a budget is never held back by one', async () => {
    const a = new BackendLimits(one);
    for (let i = 0; i < 30; i++) await a.take('unlimited', undefined);
    expect(await a.used('unlimited')).toBe(0);
  });

  it("a backend's Retry-After recorded by one broker pauses the other's calls, then lets them through", async () => {
    const a = new BackendLimits(one);
    const b = new BackendLimits(two);
    await a.pause('wes-node', 1_500);
    const held = await outcome(b.take('wes-node', undefined));
    expect(held).toBeInstanceOf(LimitWait);
    expect((held as LimitWait).why).toBe('paused');
    expect((held as LimitWait).waitMs).toBeGreaterThan(0);
    expect((held as LimitWait).waitMs).toBeLessThanOrEqual(1_500);
    // A shorter pause never shortens a longer one.
    await b.pause('wes-node', 10);
    expect(await outcome(a.take('wes-node', 100))).toBeInstanceOf(LimitWait);
    await one.query(`UPDATE backend_states SET paused_until = now() - interval '1 second' WHERE id = 'wes-node'`);
    expect(await outcome(b.take('wes-node', 100))).toBe('ok');
  });
});
