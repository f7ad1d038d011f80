import { sveltekit } from '@sveltejs/kit/vite';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

/** Component and load-function tests (`npm test` runs them as the `portal` project). */
export default defineConfig({
  plugins: [sveltekit(), svelteTesting()],
  test: {
    name: 'portal',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // Load functions are tested against a real broker on a throwaway database, as the broker's own tests are.
    globalSetup: ['../broker/src/testing/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
