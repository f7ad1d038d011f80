/** GET /runs/{run_id}/tasks (ListTasks): the backend's steps, in the order they ran. */
import type { TaskListResponse } from '@ibroker/api-spec/index';
import type { App, AppDeps } from '../http/context';
import { runFor } from './guard';
import { badRequest } from '../http/errors';
import { parsePageSize } from '../runs/service';
import { taskLog } from './views';

function decodeOffset(token: string | undefined): number {
  if (!token) return 0;
  const m = /^t:(\d{1,6})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw badRequest('page_token is not valid: pass the next_page_token of the previous page unchanged');
  return Number(m[1]);
}

export function registerTasksList(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs/:run_id/tasks', deps.authenticate, async (c) => {
    const run = await runFor(deps, c, c.req.param('run_id'), 'runs:read');
    const size = parsePageSize(c.req.query('page_size'));
    const offset = decodeOffset(c.req.query('page_token'));
    const page = run.tasks.slice(offset, offset + size);
    const more = offset + size < run.tasks.length;
    const body: TaskListResponse = {
      task_logs: page.map((t, i) => taskLog(t, offset + i)),
      next_page_token: more ? Buffer.from(`t:${offset + size}`).toString('base64url') : '',
    };
    return c.json(body, 200);
  });
}
