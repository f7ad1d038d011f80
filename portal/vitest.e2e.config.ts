import { defineConfig } from 'vitest/config';

/**
 * Browser tests (`npm run -w @ibroker/portal test:e2e`): Debian's chromium driven by
 * playwright-core against a real broker with the built portal mounted, one database per file.
 * Files run one at a time: a browser and a broker per file are enough for two cores.
 */
export default defineConfig({
  test: {
    name: 'portal-e2e',
    root: import.meta.dirname,
    include: ['tests/e2e/**/*.e2e.ts'],
    globalSetup: ['../broker/src/testing/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    // A page that answers within a second on a quiet machine may take several on a busy CI one:
    // expect.poll waits up to 15 s (Vitest's default, 1 s, failed a batch cancel under load).
    expect: { poll: { timeout: 15_000, interval: 100 } },
  },
});
