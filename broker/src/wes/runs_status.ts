/** GET /runs/{run_id}/status (GetRunStatus). */
import { ownerKey } from '../auth/principal';
import type { App, AppDeps } from '../http/context';
import { runStatus } from './views';

export function registerRunsStatus(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs/:run_id/status', deps.authenticate, async (c) => {
    const run = await deps.runs.getOwned(c.req.param('run_id'), ownerKey(c.get('principal')));
    return c.json(runStatus(run), 200);
  });
}
