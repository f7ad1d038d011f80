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
  // The backends' cards (list, then each one's last probe for its response time) load while
  // the runs are read: neither waits for the other.
  const cards = client.broker.GET('/api/v1/backends').then(async (list) => {
    const backends = ok(list, event.url).backends;
    const health = await Promise.all(
      backends.map(async (b) => {
        const h = await client.broker.GET('/api/v1/backends/{id}/health', { params: { path: { id: b.id }, query: { limit: 1 } } });
        return h.data ? { latency_ms: h.data.current.latency_ms, last_checked_at: h.data.current.last_checked_at, last_error: h.data.current.last_error } : null;
      }),
    );
    return backends.map((b, i) => ({ ...b, health: health[i] ?? null }));
  });
  const [{ runs, truncated }, backends] = await Promise.all([listRuns(client, event.url), cards]);
  const activeIds = runs.filter((r) => isActive(r.state)).slice(0, MAX_ACTIVE_SHOWN);
  const active = await Promise.all(
    activeIds.map(async (r) => {
      const run = await getRun(client, r.run_id, event.url);
      return { run_id: r.run_id, state: run.state, start_time: run.run_log?.start_time ?? r.start_time ?? null, progress: progressOf(run), backend: backendOf(run) };
    }),
  );
  // A run read on its own after the list may have moved on (QUEUED in the list, RUNNING now):
  // the newer state counts, so the counts and the progress bars never disagree.
  const newer = new Map(active.map((a) => [a.run_id, a.state]));
  const current = runs.map((r) => (newer.has(r.run_id) && newer.get(r.run_id) !== r.state ? { ...r, state: newer.get(r.run_id)! } : r));
  const recent = [...current].sort((a, b) => lastActivity(b).localeCompare(lastActivity(a))).slice(0, RECENT);
  return {
    dashboard: {
      total: current.length,
      truncated,
      counts: countByState(current),
      activeCount: current.filter((r) => isActive(r.state)).length,
      active,
      recent,
      backends,
    },
  };
};
