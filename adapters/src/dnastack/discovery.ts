/**
 * Service discovery as the DNAstack client library does it (`omics use <host>`, DNA
 * `context/manager.py#_scan_for_registry_endpoint`): a GA4GH service registry is looked for at
 * `<host>/`, `<host>/service-registry/` and `<host>/api/service-registry/` by `GET <root>/services`;
 * its entries name the Workbench services by type and carry DNAstack's `authentication` block
 * (token URL, resource, scope). Configured URLs override what the registry says, and stand in
 * for it when it cannot be reached.
 */
import { BackendError } from '../types';
import type { HttpClient } from '../http/client';
import { asArray, asRecord, asString } from '../http/json';

export const SERVICE_TYPES = {
  ewes: 'ewes-service',
  workflow: 'workflow-service',
  user: 'workbench-user-service',
} as const;
const GROUP = 'com.dnastack.workbench';
const REGISTRY_PATHS = ['', 'service-registry/', 'api/service-registry/'];

export interface ServiceAuth {
  tokenUrl: string | null;
  resource: string | null;
  scope: string | null;
}

export interface Endpoints {
  ewesUrl: string;
  userServiceUrl: string | null;
  workflowServiceUrl: string | null;
  /** From the registry entry of the eWES service, when there was one. */
  auth: ServiceAuth;
  /**
   * What one token must be good for: each service's `resource` from the registry, else its URL.
   * The wallet takes several comma-joined, so one token serves eWES, users/me and workflows.
   */
  resources: string[];
  /** Where they came from, for health details. */
  source: 'registry' | 'configuration';
}

export interface DiscoveryOptions {
  registryUrl?: string;
  ewesUrl?: string;
  userServiceUrl?: string;
  workflowServiceUrl?: string;
}

interface RegistryEntry {
  artifact: string;
  url: string;
  auth: ServiceAuth;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function readRegistry(body: unknown): RegistryEntry[] {
  return asArray(body).flatMap((item) => {
    const s = asRecord(item);
    const type = asRecord(s.type);
    const url = asString(s.url);
    const artifact = asString(type.artifact);
    if (url === null || artifact === null || asString(type.group) !== GROUP) return [];
    const auth = asRecord(asArray(s.authentication)[0]);
    return [
      {
        artifact,
        url,
        auth: { tokenUrl: asString(auth.accessTokenUrl), resource: asString(auth.resource), scope: asString(auth.scope) },
      },
    ];
  });
}

/** Tries the three registry roots in order; the first that lists services wins. */
async function scanRegistry(http: HttpClient, registryUrl: string): Promise<RegistryEntry[]> {
  const base = withSlash(/^https?:\/\//i.test(registryUrl) ? registryUrl : `https://${registryUrl}`);
  let lastError: unknown = null;
  for (const path of REGISTRY_PATHS) {
    const listing = new URL('services', new URL(path, base)).href;
    try {
      const body = await http.json(listing, { auth: false, context: 'registry' });
      if (Array.isArray(body)) return readRegistry(body);
    } catch (error) {
      // The next root may be the one; remember why this one failed in case none is.
      lastError = error;
    }
  }
  if (lastError instanceof BackendError) throw lastError;
  throw new BackendError('rejected', `No GA4GH service registry at ${base} (tried ${REGISTRY_PATHS.map((p) => `/${p}services`).join(', ')})`);
}

export async function discover(http: HttpClient, o: DiscoveryOptions): Promise<Endpoints> {
  if (o.registryUrl) {
    try {
      const entries = await scanRegistry(http, o.registryUrl);
      const find = (artifact: string): RegistryEntry | undefined => entries.find((e) => e.artifact === artifact);
      const ewes = find(SERVICE_TYPES.ewes);
      const ewesUrl = o.ewesUrl ?? ewes?.url;
      if (ewesUrl) {
        const user = find(SERVICE_TYPES.user);
        const workflow = find(SERVICE_TYPES.workflow);
        const userServiceUrl = o.userServiceUrl ?? user?.url ?? null;
        const workflowServiceUrl = o.workflowServiceUrl ?? workflow?.url ?? null;
        const resourceOf = (url: string | null, entry: RegistryEntry | undefined): string[] =>
          url === null ? [] : [entry && entry.url === url && entry.auth.resource ? entry.auth.resource : url];
        return {
          ewesUrl,
          userServiceUrl,
          workflowServiceUrl,
          auth: ewes?.auth ?? { tokenUrl: null, resource: null, scope: null },
          resources: [...new Set([...resourceOf(ewesUrl, ewes), ...resourceOf(userServiceUrl, user), ...resourceOf(workflowServiceUrl, workflow)])],
          source: 'registry',
        };
      }
      if (!o.ewesUrl) throw new BackendError('rejected', `The service registry at ${o.registryUrl} lists no ${GROUP}:${SERVICE_TYPES.ewes}`);
    } catch (error) {
      if (!o.ewesUrl) throw error;
    }
  }
  if (!o.ewesUrl) throw new BackendError('rejected', 'DNAstack adapter: neither a service registry nor an eWES URL is configured');
  return {
    ewesUrl: o.ewesUrl,
    userServiceUrl: o.userServiceUrl ?? null,
    workflowServiceUrl: o.workflowServiceUrl ?? null,
    auth: { tokenUrl: null, resource: null, scope: null },
    resources: [o.ewesUrl, o.userServiceUrl, o.workflowServiceUrl].filter((u): u is string => typeof u === 'string'),
    source: 'configuration',
  };
}
