/**
 * The **official** GA4GH Service Registry 1.0.0 document
 * (`shared/ga4gh/service-registry/1.0.0/service-registry.yaml`), compiled for the contract tests.
 * Its `Service` and `ServiceType` are `$ref`s to service-info 1.0.0 on GitHub; the copy of that
 * document in `shared/ga4gh/service-info/1.0.0/` is inlined instead, so nothing is fetched.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { OpenApiSchemas, officialSpecPath } from './openapi-schema';

const SERVICE_INFO_URL = 'https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/service-info.yaml#/components/schemas/';

export function officialRegistrySpecPath(): string {
  return officialSpecPath({ envVar: 'GA4GH_SERVICE_REGISTRY_SPEC', relative: 'ga4gh/service-registry/1.0.0/service-registry.yaml', label: 'GA4GH Service Registry 1.0.0' });
}

export function officialServiceInfoSpecPath(): string {
  return officialSpecPath({ envVar: 'GA4GH_SERVICE_INFO_SPEC', relative: 'ga4gh/service-info/1.0.0/service-info.yaml', label: 'GA4GH service-info 1.0.0' });
}

type Doc = { components: { schemas: Record<string, unknown> } };

/** The registry document with service-info's schemas in place of the two remote `$ref`s. */
export function bundledRegistryDocument(): Doc {
  const registry = parse(readFileSync(officialRegistrySpecPath(), 'utf8')) as Doc;
  const serviceInfo = parse(readFileSync(officialServiceInfoSpecPath(), 'utf8')) as Doc;
  for (const [name, schema] of Object.entries(registry.components.schemas)) {
    const ref = (schema as { $ref?: unknown }).$ref;
    if (typeof ref !== 'string' || !ref.startsWith('https://')) continue;
    if (!ref.startsWith(SERVICE_INFO_URL)) throw new Error(`unexpected remote $ref ${ref} in the Service Registry document`);
    const target = ref.slice(SERVICE_INFO_URL.length);
    const inlined = serviceInfo.components.schemas[target];
    if (!inlined) throw new Error(`service-info 1.0.0 has no schema ${target}`);
    registry.components.schemas[name] = inlined;
  }
  // Service refers to ServiceType inside its own document: present in the registry's under the same name.
  return registry;
}

let shared: OpenApiSchemas | undefined;
/** One compiled instance per process. */
export function registrySchemas(): OpenApiSchemas {
  shared ??= new OpenApiSchemas({
    specPath: officialRegistrySpecPath(),
    document: bundledRegistryDocument(),
    id: 'ga4gh-service-registry-1.0.0',
    label: 'Service Registry 1.0.0',
    errorSchema: 'Error',
  });
  return shared;
}
