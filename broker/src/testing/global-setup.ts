/**
 * One PostgreSQL server for the whole test run: the machine's real one when TEST_DATABASE_URL
 * is set (CI), else the embedded one (a fresh machine has nothing installed). Each test file
 * then creates its own database in it (see db.ts): no state is shared between files.
 */
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    redisUrl: string;
  }
}

let embedded: EmbeddedDatabase | null = null;
// One data directory per test run and project: concurrent runs on one machine, and the projects
// of one run (broker, portal), must not share a cluster.
let dir = `.data/test-${process.pid}`;

export async function setup(project: TestProject): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    if (project.name) dir = `.data/test-${process.pid}-${project.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    embedded = await startEmbeddedPostgres(dir, 'postgres');
    adminUrl = embedded.adminUrl;
  }
  project.provide('pgAdminUrl', adminUrl);
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? '');
}

export async function teardown(): Promise<void> {
  if (embedded) {
    await embedded.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
