/** POST /runs/{run_id}/cancel (CancelRun). */
import type { RunId } from '@ibroker/api-spec/index';
import { ownerKey } from '../auth/principal';
import type { App, AppDeps } from '../http/context';

export function registerRunsCancel(app: App, deps: AppDeps): void {
  app.post('/ga4gh/wes/v1/runs/:run_id/cancel', deps.authenticate, async (c) => {
    const run = await deps.runs.cancel(c.req.param('run_id'), ownerKey(c.get('principal')));
    return c.json({ run_id: run.id } satisfies RunId, 200);
  });
}
