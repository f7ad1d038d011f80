import { inject } from 'vitest';
import { createDatabase, type ScratchDatabase } from '../db/embedded';

/** Creates an empty database for one test file and returns its URL and a function dropping it. */
export async function createTestDatabase(): Promise<ScratchDatabase> {
  return createDatabase(inject('pgAdminUrl'));
}

/** Redis URL for queue tests when the run was given one (TEST_REDIS_URL), else null. */
export function testRedisUrl(): string | null {
  return inject('redisUrl') || null;
}
