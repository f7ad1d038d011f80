import type { Api } from './broker';
import { ok } from './errors';
import type { RunListItem, RunLog } from '$lib/runs';

/** Pages of GET /runs to read for the dashboard at most (x 1000 runs each). */
const MAX_PAGES = 10;

/** The caller's runs, newest first, following next_page_token (bounded). */
export async function listRuns(client: Api, url: URL, maxPages = MAX_PAGES): Promise<{ runs: RunListItem[]; truncated: boolean }> {
  const runs: RunListItem[] = [];
  let token: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = ok(await client.wes.GET('/runs', { params: { query: { page_size: 1000, ...(token ? { page_token: token } : {}) } } }), url);
    runs.push(...(page.runs ?? []));
    token = page.next_page_token || undefined;
    if (!token) return { runs, truncated: false };
  }
  return { runs, truncated: true };
}

export async function getRun(client: Api, runId: string, url: URL): Promise<RunLog> {
  return ok(await client.wes.GET('/runs/{run_id}', { params: { path: { run_id: runId } } }), url);
}
