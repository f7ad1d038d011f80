/**
 * GA4GH Service Registry 1.0 entries (`ExternalService` = service-info 1.0 `Service` + `url`):
 * the broker's own WES and DRS, and every backend that takes runs. Nothing here is secret: no
 * token, client id or credential mode, only what a node looking for services needs.
 *
 * `url` is the base a client appends the specification's paths to. For a GA4GH service it is
 * everything before `/ga4gh/<api>/v1` (the broker itself, a WES node without that suffix);
 * DNAstack's eWES lives under `<ewesUrl>/<namespace>`; a Cloudgene server is its root URL.
 */
import type { Backend, BackendMeta } from '../backends/registry';
import type { Catalog } from '@ibroker/adapters/types';
import type { AppDeps } from '../http/context';
import { BROKER_VERSION } from '../wes/service_info';

export interface ServiceType {
  group: string;
  artifact: string;
  version: string;
}

export interface ExternalService {
  id: string;
  name: string;
  type: ServiceType;
  description?: string;
  organization: { name: string; url: string };
  contactUrl?: string;
  documentationUrl?: string;
  createdAt?: string;
  updatedAt?: string;
  environment?: string;
  version: string;
  url: string;
}

/** The prefix of the broker's own service ids (its WES and DRS service-info say the same). */
export const SERVICE_ID_PREFIX = 'org.ga4gh.imputation-broker';
export const REGISTRY_TYPE: ServiceType = { group: 'org.ga4gh', artifact: 'service-registry', version: '1.0.0' };
/** Cloudgene 3's REST API is no GA4GH standard: its own group, as service-info asks. */
export const CLOUDGENE_TYPE: ServiceType = { group: 'org.genepi', artifact: 'cloudgene', version: '3' };

const trim = (u: string) => u.replace(/\/+$/, '');

function organizationOf(deps: AppDeps) {
  return { name: 'Imputation broker operators', url: deps.urls.base };
}

/** The broker's own GA4GH services, as their service-info endpoints describe them, with `url` = the broker's base. */
export function brokerServices(deps: AppDeps): ExternalService[] {
  const common = {
    organization: organizationOf(deps),
    documentationUrl: `${deps.urls.base}/docs`,
    environment: deps.config.demo ? 'dev' : 'prod',
    version: BROKER_VERSION,
    url: deps.urls.base,
  };
  return [
    {
      id: `${SERVICE_ID_PREFIX}.wes`,
      name: 'Imputation federation broker (GA4GH WES)',
      type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
      description: 'One GA4GH WES 1.1 endpoint in front of every imputation backend listed in this registry.',
      ...common,
    },
    {
      id: `${SERVICE_ID_PREFIX}.drs`,
      name: 'Imputation federation broker (GA4GH DRS)',
      type: { group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' },
      description: 'Every input and result of the runs of this broker as GA4GH DRS 1.5 objects.',
      ...common,
    },
  ];
}

export function registryInfo(deps: AppDeps): Omit<ExternalService, 'url'> {
  return {
    id: `${SERVICE_ID_PREFIX}.registry`,
    name: 'Imputation federation broker (GA4GH Service Registry)',
    type: REGISTRY_TYPE,
    description: "The broker's own WES and DRS services and the imputation backends it sends runs to.",
    organization: organizationOf(deps),
    documentationUrl: `${deps.urls.base}/docs`,
    environment: deps.config.demo ? 'dev' : 'prod',
    version: BROKER_VERSION,
  };
}

export function backendServiceId(id: string): string {
  return `${SERVICE_ID_PREFIX}.backends.${id}`;
}

function typeAndUrl(b: Backend): { type: ServiceType; url: string } {
  const c = b.config;
  switch (c.kind) {
    case 'cloudgene':
      return { type: CLOUDGENE_TYPE, url: trim(c.url) };
    case 'wes':
      // WESkit implements WES 1.0.0; the GA4GH starter kit and another broker 1.1.0.
      return { type: { group: 'org.ga4gh', artifact: 'wes', version: c.flavor === 'weskit' ? '1.0.0' : '1.1.0' }, url: trim(c.url).replace(/\/ga4gh\/wes\/v1$/, '') };
    case 'dnastack':
      return {
        type: { group: 'org.ga4gh', artifact: 'wes', version: '1.0.0' },
        url: c.ewesUrl && c.namespace ? `${trim(c.ewesUrl)}/${encodeURIComponent(c.namespace)}` : trim(c.url),
      };
  }
}

const WHAT: Record<string, string> = {
  cloudgene: 'a Cloudgene 3 imputation server (REST API v2)',
  wes: 'a GA4GH WES node',
  dnastack: "DNAstack Workbench's eWES",
};

export function backendService(b: Backend, meta: BackendMeta, catalog: Catalog | null): ExternalService {
  const c = b.config;
  const { type, url } = typeAndUrl(b);
  const panels = catalog?.panels.map((p) => p.id) ?? [];
  return {
    id: backendServiceId(c.id),
    name: c.name,
    type,
    description:
      `Imputation backend "${c.id}" of this broker: ${WHAT[c.kind]}${c.location ? ` in ${c.location}` : ''}` +
      `${c.demo ? ' (a local simulator, not the real service)' : ''}.` +
      (panels.length ? ` Reference panels: ${panels.join(', ')}.` : ''),
    organization: c.organization ?? { name: c.name, url: new URL(c.url).origin },
    ...(meta.createdAt ? { createdAt: meta.createdAt.toISOString() } : {}),
    ...(meta.updatedAt ? { updatedAt: meta.updatedAt.toISOString() } : {}),
    ...(c.demo ? { environment: 'dev' } : {}),
    version: catalog?.appVersion || 'unknown',
    url,
  };
}
