/** GET /runs/{run_id}/tasks/{task_id} (GetTask). */
import type { App, AppDeps } from '../http/context';
import { runFor } from './guard';
import { notFound } from '../http/errors';
import { taskLog } from './views';

export function registerTasksGet(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs/:run_id/tasks/:task_id', deps.authenticate, async (c) => {
    const run = await runFor(deps, c, c.req.param('run_id'), 'runs:read');
    const id = c.req.param('task_id');
    const index = run.tasks.findIndex((t) => t.id === id);
    if (index < 0) {
      const known = run.tasks.map((t) => t.id).join(', ');
      throw notFound(`Task '${id.slice(0, 80)}' was not found in run ${run.id}.${known ? ` Its tasks are: ${known}.` : ' The run has no tasks yet.'}`);
    }
    return c.json(taskLog(run.tasks[index]!, index), 200);
  });
}
