/** The retry schedule: 4x per try with ±20 % jitter, so the default 8 tries from 15 s span about a day. */
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './deliveries';

describe('retryDelayMs', () => {
  it('waits base * 4^(n-1), within ±20 %', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((n) => retryDelayMs(1000, n, mid))).toEqual([1000, 4000, 16_000, 64_000]);
    expect(retryDelayMs(1000, 1, () => 0)).toBe(800);
    expect(retryDelayMs(1000, 1, () => 0.999999)).toBeCloseTo(1200, 2);
  });

  it('spreads the default 8 tries (7 waits from 15 s) over about a day, however the jitter falls', () => {
    const total = (random: () => number) => [1, 2, 3, 4, 5, 6, 7].reduce((sum, n) => sum + retryDelayMs(15_000, n, random), 0);
    expect(total(() => 0.5) / 3600_000).toBeCloseTo(22.75, 2);
    expect(total(() => 0) / 3600_000).toBeGreaterThan(18);
    expect(total(() => 0.999999) / 3600_000).toBeLessThan(27.4);
  });

  it('never waits more than a day for one try', () => {
    expect(retryDelayMs(3_600_000, 10, () => 0.5)).toBe(24 * 3600_000);
  });
});
