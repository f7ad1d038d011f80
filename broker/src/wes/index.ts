import type { App, AppDeps } from '../http/context';
import { registerRunsCancel } from './runs_cancel';
import { registerRunsGet } from './runs_get';
import { registerRunsList } from './runs_list';
import { registerRunsPost } from './runs_post';
import { registerRunsStatus } from './runs_status';
import { registerServiceInfo } from './service_info';
import { registerTasksGet } from './tasks_get';
import { registerTasksList } from './tasks_list';

/** The eight GA4GH WES 1.1 operations under /ga4gh/wes/v1. */
export function registerWes(app: App, deps: AppDeps): void {
  registerServiceInfo(app, deps);
  registerRunsList(app, deps);
  registerRunsPost(app, deps);
  registerRunsGet(app, deps);
  registerRunsStatus(app, deps);
  registerTasksList(app, deps);
  registerTasksGet(app, deps);
  registerRunsCancel(app, deps);
}
