/**
 * `$env/dynamic/private` in the unit tests: the process environment, as adapter-node gives it
 * at run time. (The unit tests use vite-plugin-svelte without SvelteKit's plugin, so they run the
 * same from the repository root as from portal/.)
 */
export const env: Record<string, string | undefined> = process.env;
