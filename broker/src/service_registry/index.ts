/**
 * GA4GH Service Registry 1.0 at /ga4gh/registry/v1 (shared/ga4gh/service-registry/1.0.0):
 * `GET /services`, `/services/{serviceId}`, `/services/types`, `/service-info`. Public, like the
 * service-info of WES and DRS, so other nodes can discover this broker and what it federates.
 * Errors use the registry's own shape, `{status, title, detail}`.
 */
import type { Context } from 'hono';
import type { App, AppDeps } from '../http/context';
import { backendService, brokerServices, registryInfo, type ExternalService, type ServiceType } from './views';

export const REGISTRY_BASE = '/ga4gh/registry/v1';

function problem(c: Context, status: 404 | 405, title: string, detail: string, headers: Record<string, string> = {}) {
  return c.json({ status, title, detail }, status, headers);
}

/** The broker's services and every backend that takes runs. */
async function services(deps: AppDeps): Promise<ExternalService[]> {
  const backends = await Promise.all(
    deps.registry
      .ids()
      .filter((id) => deps.registry.usable(id))
      .map(async (id) => backendService(deps.registry.get(id)!, deps.registry.meta(id)!, await deps.registry.catalog(id))),
  );
  return [...brokerServices(deps), ...backends];
}

export function registerServiceRegistry(app: App, deps: AppDeps): void {
  app.get(`${REGISTRY_BASE}/service-info`, (c) => c.json(registryInfo(deps), 200));
  app.get(`${REGISTRY_BASE}/services`, async (c) => c.json(await services(deps), 200));
  app.get(`${REGISTRY_BASE}/services/types`, async (c) => {
    const seen = new Map<string, ServiceType>();
    for (const s of await services(deps)) seen.set(`${s.type.group}:${s.type.artifact}:${s.type.version}`, s.type);
    return c.json([...seen.values()], 200);
  });
  app.get(`${REGISTRY_BASE}/services/:serviceId`, async (c) => {
    const id = c.req.param('serviceId');
    const found = (await services(deps)).find((s) => s.id === id);
    if (!found) return problem(c, 404, 'Not found', `No service with this id is registered here; GET ${REGISTRY_BASE}/services lists them.`);
    return c.json(found, 200);
  });
  for (const path of ['/service-info', '/services', '/services/types', '/services/:serviceId']) {
    app.all(`${REGISTRY_BASE}${path}`, (c) =>
      problem(c, 405, 'Method not allowed', `${c.req.method} is not supported here; the service registry is read-only (GET).`, { Allow: 'GET, HEAD' }),
    );
  }
  app.all(`${REGISTRY_BASE}/*`, (c) =>
    problem(c, 404, 'Not found', `No such endpoint. The registry serves GET ${REGISTRY_BASE}/services, /services/{serviceId}, /services/types and /service-info.`),
  );
}
