/** GET /runs/{run_id}/status (GetRunStatus). */
import type { App, AppDeps } from '../http/context';
import { runFor } from './guard';
import { runStatus } from './views';

export function registerRunsStatus(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs/:run_id/status', deps.authenticate, async (c) => {
    const run = await runFor(deps, c, c.req.param('run_id'), 'runs:read');
    return c.json(runStatus(run), 200);
  });
}
