/** GET /runs (ListRuns): the caller's runs, newest first, keyset-paged so pages stay stable. */
import type { RunListResponse } from '@ibroker/api-spec/index';
import { ownerKey } from '../auth/principal';
import type { App, AppDeps } from '../http/context';
import { parsePageSize } from '../runs/service';
import { runSummary } from './views';

export function registerRunsList(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs', deps.authenticate, async (c) => {
    const pageSize = parsePageSize(c.req.query('page_size'));
    const page = await deps.runs.list(ownerKey(c.get('principal')), pageSize, c.req.query('page_token') || undefined);
    const body: RunListResponse = { runs: page.runs.map(runSummary), next_page_token: page.nextPageToken };
    return c.json(body, 200);
  });
}
