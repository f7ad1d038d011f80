/** GET /runs/{run_id} (GetRunLog). */
import { ownerKey } from '../auth/principal';
import type { App, AppDeps } from '../http/context';
import { runLog } from './views';

export function registerRunsGet(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs/:run_id', deps.authenticate, async (c) => {
    const run = await deps.runs.getOwned(c.req.param('run_id'), ownerKey(c.get('principal')));
    return c.json(runLog(deps.urls, run, await deps.runs.outputs(run.id)), 200);
  });
}
