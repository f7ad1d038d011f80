import { defineConfig, mergeConfig } from 'vitest/config';
import e2e from './vitest.e2e.config';

/** `npm run -w @ibroker/portal bench`: page weight and the dashboard's first render (docs/benchmarks.md). */
export default mergeConfig(e2e, defineConfig({ test: { name: 'portal-bench', include: ['tests/bench/**/*.bench-e2e.ts'] } }));
