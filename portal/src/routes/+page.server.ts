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
  const [{ runs, truncated }, backendList] = await Promise.all([listRuns(client, event.url), client.broker.GET('/api/v1/backends')]);
  const backends = ok(backendList, event.url).backends;
  // Each card's response time: the last probe of GET /backends/{id}/health (one small call each).
  const health = await Promise.all(
    backends.map(async (b) => {
      const h = await client.broker.GET('/api/v1/backends/{id}/health', { params: { path: { id: b.id }, query: { limit: 1 } } });
      return h.data ? { latency_ms: h.data.current.latency_ms, last_checked_at: h.data.current.last_checked_at, last_error: h.data.current.last_error } : null;
    }),
  );
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
      backends: backends.map((b, i) => ({ ...b, health: health[i] ?? null })),
    },
  };
};
