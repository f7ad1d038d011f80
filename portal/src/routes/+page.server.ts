import { api } from '$lib/server/broker';
import { ok } from '$lib/server/errors';
import { getRun, listRuns } from '$lib/server/runs';
import { backendOf, countByState, isActive, lastActivity, progressOf } from '$lib/runs';
import type { PageServerLoad } from './$types';

/** Running runs shown with a progress bar (each needs its own GET /runs/{id}). */
const MAX_ACTIVE_SHOWN = 10;
const RECENT = 8;

export const load: PageServerLoad = async (event) => {
  if (!event.locals.session.authenticated) return { dashboard: null };
  const client = api(event);
  const [{ runs, truncated }, backends] = await Promise.all([listRuns(client, event.url), client.broker.GET('/api/v1/backends')]);
  const activeIds = runs.filter((r) => isActive(r.state)).slice(0, MAX_ACTIVE_SHOWN);
  const active = await Promise.all(
    activeIds.map(async (r) => {
      const run = await getRun(client, r.run_id, event.url);
      return { run_id: r.run_id, state: run.state, start_time: run.run_log?.start_time ?? r.start_time ?? null, progress: progressOf(run), backend: backendOf(run) };
    }),
  );
  const recent = [...runs].sort((a, b) => lastActivity(b).localeCompare(lastActivity(a))).slice(0, RECENT);
  return {
    dashboard: {
      total: runs.length,
      truncated,
      counts: countByState(runs),
      activeCount: runs.filter((r) => isActive(r.state)).length,
      active,
      recent,
      backends: ok(backends, event.url).backends,
    },
  };
};
