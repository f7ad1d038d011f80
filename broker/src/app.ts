/**
 * Builds the HTTP app from injected parts (DESIGN: services are injected, not imported), so
 * tests build it with real parts on throwaway databases.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { loadWesSpecText } from '@ibroker/api-spec/index';
import { BROKER_API_INFO, createApiApp } from './api/openapi';
import { registerAuditList } from './api/audit_list';
import { registerAuthRoutes } from './api/auth_routes';
import { registerBackendRoutes } from './api/backends_routes';
import { registerMeGet } from './api/me_get';
import { registerCredentialsDelete } from './api/credentials_delete';
import { registerCredentialsList } from './api/credentials_list';
import { registerCredentialsPut } from './api/credentials_put';
import { registerRunsOutputsGet } from './api/runs_outputs_get';
import { registerRunsPasswordGet } from './api/runs_password_get';
import { registerWorkflowDescriptor } from './api/workflows_imputation';
import { registerEventsGet } from './api/events_get';
import { registerWebhooksPost } from './api/webhooks_post';
import { registerWebhooksList } from './api/webhooks_list';
import { registerWebhooksDelete } from './api/webhooks_delete';
import { registerWebhooksDeliveriesList } from './api/webhooks_deliveries_list';
import { registerNotificationsGet } from './api/notifications_get';
import { registerNotificationsPut } from './api/notifications_put';
import { registerNotificationsDeliveriesList } from './api/notifications_deliveries_list';
import type { AppDeps, AppEnv } from './http/context';
import { ApiError, errorBody, errorResponse } from './http/errors';
import { registerWes } from './wes/index';
import { registerServiceRegistry } from './service_registry/index';
import { gaCors, registerDrs } from './drs/index';
import { registerObjectsContentGet } from './api/objects_content_get';
import { registerRunsResultsDelete } from './api/runs_results_delete';
import { registerUploadsDelete } from './api/uploads_delete';
import { registerUploadsList } from './api/uploads_list';
import { registerUploadsPost } from './api/uploads_post';
import { registerBatchesCancel } from './api/batches_cancel';
import { registerBatchesGet } from './api/batches_get';
import { registerBatchesList } from './api/batches_list';
import { registerBatchesPost } from './api/batches_post';
import { registerRoutesPreview } from './api/routes_preview';
import { registerRunsRoutingGet } from './api/runs_routing_get';
import { loadDrsSpecText } from '@ibroker/api-spec/index';

const swaggerDir = join(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'), '..');

function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Imputation broker API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script></body></html>`;
}

const DOCS_INIT = `window.ui = SwaggerUIBundle({
  urls: [{ url: '/docs/wes.yaml', name: 'GA4GH WES 1.1' }, { url: '/docs/drs.yaml', name: 'GA4GH DRS 1.5' }, { url: '/docs/broker.json', name: 'Broker API' }],
  dom_id: '#swagger-ui', presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout'
});`;

const ASSET_TYPES: Record<string, string> = { css: 'text/css', js: 'text/javascript', png: 'image/png' };

/** The broker-specific API app, also used to emit api-spec/broker.yaml. */
export function createBrokerApi(deps: AppDeps) {
  const api = createApiApp();
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  registerRunsOutputsGet(api, deps);
  registerRunsPasswordGet(api, deps);
  registerRunsResultsDelete(api, deps);
  registerRunsRoutingGet(api, deps);
  registerRoutesPreview(api, deps);
  registerBatchesPost(api, deps);
  registerBatchesList(api, deps);
  registerBatchesGet(api, deps);
  registerBatchesCancel(api, deps);
  registerObjectsContentGet(api, deps);
  registerUploadsPost(api, deps);
  registerUploadsList(api, deps);
  registerUploadsDelete(api, deps);
  registerBackendRoutes(api, deps);
  registerCredentialsPut(api, deps);
  registerCredentialsList(api, deps);
  registerCredentialsDelete(api, deps);
  registerAuditList(api, deps);
  registerMeGet(api, deps);
  // Notifications (issue 5): run events as SSE, webhooks, e-mail preferences.
  registerEventsGet(api, deps);
  registerWebhooksPost(api, deps);
  registerWebhooksList(api, deps);
  registerWebhooksDelete(api, deps);
  registerWebhooksDeliveriesList(api, deps);
  registerNotificationsGet(api, deps);
  registerNotificationsPut(api, deps);
  registerNotificationsDeliveriesList(api, deps);
  return api;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    const route = c.req.routePath || 'unmatched';
    deps.metrics.httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, ms / 1000);
    if (route !== '/healthz' && route !== '/readyz' && route !== '/metrics') {
      deps.log.info({ requestId, method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(ms) }, 'request');
    }
  });

  // Before every route: a session cookie becomes the same bearer token the APIs already check.
  if (deps.portalLogin) {
    app.use('*', deps.portalLogin.sessionAuth.middleware);
    registerAuthRoutes(app, { portalLogin: deps.portalLogin, log: deps.log, ...(deps.audit ? { audit: deps.audit } : {}) });
  }

  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException) {
      const status = err.status;
      return c.json(errorBody(status, err.message || 'Request refused'), status);
    }
    deps.log.error({ err, requestId: c.get('requestId'), path: c.req.path }, 'unhandled error');
    return c.json(errorBody(500, `Internal error (request id ${c.get('requestId')}); the operators can trace it in the logs.`), 500);
  });

  app.notFound((c) => c.json(errorBody(404, `No such endpoint: ${c.req.method} ${c.req.path.slice(0, 200)}`), 404));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await deps.ds.query('SELECT 1');
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'not ready', reason: 'database unreachable' }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });

  const api = createBrokerApi(deps);
  const brokerDoc = () => api.getOpenAPIDocument(BROKER_API_INFO);
  app.get('/docs', (c) => c.html(docsPage()));
  app.get('/docs/init.js', (c) => c.body(DOCS_INIT, 200, { 'Content-Type': 'text/javascript' }));
  app.get('/docs/assets/:file', (c) => {
    const file = c.req.param('file');
    if (!/^[a-z0-9-]+\.(css|js|png)$/.test(file)) throw new ApiError(404, 'No such asset');
    const type = ASSET_TYPES[file.split('.').pop()!]!;
    try {
      return c.body(readFileSync(join(swaggerDir, file)), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600' });
    } catch {
      throw new ApiError(404, 'No such asset');
    }
  });
  app.get('/docs/wes.yaml', (c) => c.body(loadWesSpecText(), 200, { 'Content-Type': 'application/yaml' }));
  app.get('/docs/drs.yaml', (c) => c.body(loadDrsSpecText(), 200, { 'Content-Type': 'application/yaml' }));
  app.get('/docs/broker.json', (c) => c.json(brokerDoc()));

  app.get('/', (c) =>
    c.html(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Imputation broker</title></head><body>
<h1>Imputation federation broker</h1>
<p>GA4GH WES 1.1 at <a href="/ga4gh/wes/v1/service-info">/ga4gh/wes/v1</a>, GA4GH DRS 1.5 at <a href="/ga4gh/drs/v1/service-info">/ga4gh/drs/v1</a>. API documentation: <a href="/docs">/docs</a>.
Workflow descriptor: <a href="/workflows/imputation">/workflows/imputation</a>.</p>
${deps.config.demo ? '<p><strong>Demo mode:</strong> the backends are local simulators of Cloudgene 3 servers, not the real services.</p>' : ''}
</body></html>`),
  );

  const corsLayer = gaCors(deps.config.corsOrigins);
  app.use('/ga4gh/*', corsLayer);
  app.use('/api/v1/objects/*', corsLayer);
  registerWorkflowDescriptor(app, deps);
  registerWes(app, deps);
  registerDrs(app, deps);
  registerServiceRegistry(app, deps);
  app.route('/', api);
  return app;
}
