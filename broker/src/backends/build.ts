/**
 * Adapters for the configured backends, one per kind: Cloudgene 3 (MIS 2, TOPMed, AfriGen-D),
 * any GA4GH WES node, DNAstack Workbench. Secrets are read here, once, from wherever the
 * configuration says they live, and go nowhere else.
 */
import { createCloudgeneAdapter } from '@ibroker/adapters/cloudgene/index';
import { createDnastackAdapter } from '@ibroker/adapters/dnastack/index';
import type { Panel } from '@ibroker/adapters/types';
import { createWesAdapter } from '@ibroker/adapters/wes/index';
import type { ParamTemplate } from '@ibroker/adapters/wes/params';
import { backendToken, type BackendConfig, type PanelConfig } from '../config';
import type { Backend } from './registry';

/** Configured panels as the adapters' catalog entries. */
export function panelsFrom(panels: readonly PanelConfig[] | undefined): Panel[] | undefined {
  return panels?.map((p) => ({
    key: p.id,
    id: p.id,
    version: null,
    label: p.label ?? p.id,
    build: p.build,
    populations: p.populations.map((id) => ({ id, label: id.toUpperCase() })),
    ...(p.samples !== undefined ? { samples: p.samples } : {}),
    ...(p.variants !== undefined ? { variants: p.variants } : {}),
  }));
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** The adapter (and, for Cloudgene, the per-user variant) for one backend. */
export function buildBackend(config: BackendConfig, options: { timeoutMs?: number } = {}): Backend {
  const token = backendToken(config);
  // Demo simulators live on loopback, and so do the links they hand out.
  const allowPrivateOutputUrls = config.demo;
  switch (config.kind) {
    case 'cloudgene': {
      if (!token) throw new Error(`backend ${config.id}: no API token configured`);
      const build = (t: string) => createCloudgeneAdapter(defined({ baseUrl: config.url, token: t, appId: config.appId, timeoutMs: options.timeoutMs }));
      return { config, adapter: build(token), withToken: build };
    }
    case 'wes':
      return {
        config,
        adapter: createWesAdapter(
          defined({
            baseUrl: config.url,
            token: token ?? undefined,
            flavor: config.flavor,
            workflowUrl: config.workflowUrl,
            workflowType: config.workflowType,
            workflowTypeVersion: config.workflowTypeVersion,
            workflowEngine: config.workflowEngine,
            workflowEngineVersion: config.workflowEngineVersion,
            workflowEngineParameters: config.workflowEngineParameters,
            tags: config.tags,
            inputMode: config.inputMode,
            paramTemplate: config.paramTemplate as ParamTemplate | undefined,
            panels: panelsFrom(config.panels),
            catalog: config.catalog,
            timeoutMs: options.timeoutMs,
            allowPrivateOutputUrls,
          }),
        ),
      };
    case 'dnastack':
      if (!token) throw new Error(`backend ${config.id}: no OAuth2 client secret configured`);
      return {
        config,
        adapter: createDnastackAdapter(
          defined({
            registryUrl: config.url,
            ewesUrl: config.ewesUrl,
            userServiceUrl: config.userServiceUrl,
            workflowServiceUrl: config.workflowServiceUrl,
            tokenUrl: config.tokenUrl,
            clientId: config.clientId,
            clientSecret: token,
            resource: config.resource,
            scope: config.scope,
            namespace: config.namespace,
            workflowId: config.workflowId,
            workflowVersionId: config.workflowVersionId,
            workflowTypeVersion: config.workflowTypeVersion,
            engineId: config.engineId,
            tags: config.tags,
            paramTemplate: config.paramTemplate as ParamTemplate | undefined,
            panels: panelsFrom(config.panels) ?? [],
            catalog: config.catalog,
            timeoutMs: options.timeoutMs,
            allowPrivateOutputUrls,
          }),
        ),
      };
  }
}

export function buildBackends(configs: readonly BackendConfig[], options: { timeoutMs?: number } = {}): Backend[] {
  return configs.map((c) => buildBackend(c, options));
}
