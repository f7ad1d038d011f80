import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

const here = import.meta.dirname;

// portal/tsconfig.json extends .svelte-kit/tsconfig.json, which `svelte-kit sync` writes; a fresh
// clone has none until the first build, and the TypeScript transform needs it.
if (!existsSync(join(here, '.svelte-kit', 'tsconfig.json'))) {
  const kit = join(createRequire(import.meta.url).resolve('@sveltejs/kit/package.json'), '..', 'svelte-kit.js');
  execFileSync(process.execPath, [kit, 'sync'], { cwd: here, stdio: 'inherit' });
}

/**
 * Component and load-function tests (`npm test` runs them as the `portal` project). SvelteKit's
 * own Vite plugin reads its config from the working directory, which is the repository root under
 * `npm test`; so these tests compile components with vite-plugin-svelte and map the two virtual
 * modules the tested code uses.
 */
export default defineConfig({
  plugins: [svelte({ configFile: join(here, 'svelte.config.js') }), svelteTesting()],
  resolve: {
    alias: {
      $lib: join(here, 'src/lib'),
      '$env/dynamic/private': join(here, 'src/lib/server/testing/env.ts'),
    },
  },
  test: {
    name: 'portal',
    root: here,
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // Load functions are tested against a real broker on a throwaway database, as the broker's own tests are.
    globalSetup: [join(here, '../broker/src/testing/global-setup.ts')],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
