/** GET /runs/{run_id} (GetRunLog). */
import type { App, AppDeps } from '../http/context';
import { runFor } from './guard';
import { runLog } from './views';

export function registerRunsGet(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs/:run_id', deps.authenticate, async (c) => {
    const run = await runFor(deps, c, c.req.param('run_id'), 'runs:read');
    return c.json(runLog(deps.urls, run, await deps.runs.allObjects(run.id)), 200);
  });
}
