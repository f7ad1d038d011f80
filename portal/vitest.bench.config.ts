import { defineConfig } from 'vitest/config';

/** `npm run -w @ibroker/portal bench`: page weight and the dashboard's first render (docs/benchmarks.md). */
export default defineConfig({
  test: {
    name: 'portal-bench',
    root: import.meta.dirname,
    include: ['tests/bench/**/*.bench-e2e.ts'],
    globalSetup: ['../broker/src/testing/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
