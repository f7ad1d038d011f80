import { api } from '$lib/server/broker';
import { requireLogin } from '$lib/server/guard';
import { listRuns } from '$lib/server/runs';
import { STATES, type State } from '$lib/runs';
import type { PageServerLoad } from './$types';

const PER_PAGE = 50;

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const { runs, truncated } = await listRuns(api(event), event.url);
  const stateParam = event.url.searchParams.get('state');
  const state = stateParam && stateParam in STATES ? (stateParam as State) : null;
  const filtered = state ? runs.filter((r) => r.state === state) : runs;
  const pages = Math.max(1, Math.ceil(filtered.length / PER_PAGE));
  const pageNo = Math.min(pages, Math.max(1, Number.parseInt(event.url.searchParams.get('page') ?? '1', 10) || 1));
  return {
    state,
    total: filtered.length,
    truncated,
    page: pageNo,
    pages,
    runs: filtered.slice((pageNo - 1) * PER_PAGE, pageNo * PER_PAGE),
  };
};
