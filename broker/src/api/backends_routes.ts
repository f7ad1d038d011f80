/** The registry of services in the broker API: backends, their health, panels, recommendations, administration. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { registerAdminBackendsDisable } from './admin_backends_disable';
import { registerAdminBackendsEnable } from './admin_backends_enable';
import { registerAdminBackendsPatch } from './admin_backends_patch';
import { registerAdminBackendsPost } from './admin_backends_post';
import { registerAdminBackendsSync } from './admin_backends_sync';
import { registerBackendsGet } from './backends_get';
import { registerBackendsHealth } from './backends_health';
import { registerBackendsList } from './backends_list';
import { registerPanelsList } from './panels_list';
import { registerPanelsRecommendation } from './panels_recommendation';

export function registerBackendRoutes(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  registerBackendsList(api, deps);
  registerBackendsGet(api, deps);
  registerBackendsHealth(api, deps);
  registerPanelsList(api, deps);
  registerPanelsRecommendation(api, deps);
  registerAdminBackendsPost(api, deps);
  registerAdminBackendsPatch(api, deps);
  registerAdminBackendsDisable(api, deps);
  registerAdminBackendsEnable(api, deps);
  registerAdminBackendsSync(api, deps);
}
