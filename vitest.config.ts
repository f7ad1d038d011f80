import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'broker',
          include: ['**/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/node_modules/**', '.data/**', 'conformance/**', 'portal/**'],
          globalSetup: ['broker/src/testing/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      // Component and load-function tests of the portal (SvelteKit plugins, its own config).
      'portal/vitest.config.ts',
    ],
  },
});
