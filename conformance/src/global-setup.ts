/**
 * One PostgreSQL server for the contract tests: the machine's real one when TEST_DATABASE_URL is
 * set (CI), else an embedded one started here. Each test file creates its own database in it
 * (see launcher.ts), so files share no state.
 */
import type { TestProject } from 'vitest/node';
import { startTemporaryPostgres } from './launcher';

declare module 'vitest' {
  export interface ProvidedContext {
    conformancePgAdminUrl: string;
  }
}

let stop: (() => Promise<void>) | null = null;

export async function setup(project: TestProject): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const embedded = await startTemporaryPostgres();
    stop = embedded.stop;
    adminUrl = embedded.adminUrl;
  }
  project.provide('conformancePgAdminUrl', adminUrl);
}

export async function teardown(): Promise<void> {
  await stop?.();
  stop = null;
}
