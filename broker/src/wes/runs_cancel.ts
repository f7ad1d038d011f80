/** POST /runs/{run_id}/cancel (CancelRun). */
import type { RunId } from '@ibroker/api-spec/index';
import type { App, AppDeps } from '../http/context';
import { runFor } from './guard';

export function registerRunsCancel(app: App, deps: AppDeps): void {
  app.post('/ga4gh/wes/v1/runs/:run_id/cancel', deps.authenticate, async (c) => {
    const run = await deps.runs.cancel(await runFor(deps, c, c.req.param('run_id'), 'runs:cancel'));
    await deps.audit?.record({
      action: 'run.canceled',
      outcome: 'ok',
      actor: c.get('principal'),
      object: { kind: 'run', id: run.id },
      source: deps.audit.source(c),
    });
    return c.json({ run_id: run.id } satisfies RunId, 200);
  });
}
