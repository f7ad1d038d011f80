/**
 * Loads the Cloudgene JSON fixtures of the shared reference material (`shared/backends/cloudgene/
 * examples`), which lives beside the repository rather than in it; `CLOUDGENE_FIXTURES` overrides.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const FIXTURE_DIR =
  process.env.CLOUDGENE_FIXTURES ?? resolve(here, '../../../../shared/backends/cloudgene/examples');

export const fixturesAvailable = existsSync(FIXTURE_DIR);

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(resolve(FIXTURE_DIR, name), 'utf8')) as unknown;
}
