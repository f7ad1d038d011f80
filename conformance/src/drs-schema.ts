/**
 * The **official** GA4GH DRS 1.5.0 document (`shared/ga4gh/drs/1.5.0/bundled/openapi.json`),
 * compiled for the contract tests; see openapi-schema.ts for how OpenAPI 3.0 becomes JSON Schema.
 */
import { OpenApiSchemas, officialSpecPath } from './openapi-schema';

/** `GA4GH_DRS_SPEC` if set, else `shared/` beside the repository, else `shared/` inside it. */
export function officialDrsSpecPath(): string {
  return officialSpecPath({ envVar: 'GA4GH_DRS_SPEC', relative: 'ga4gh/drs/1.5.0/bundled/openapi.json', label: 'GA4GH DRS 1.5.0' });
}

let shared: OpenApiSchemas | undefined;
/** One compiled instance per process. */
export function drsSchemas(): OpenApiSchemas {
  shared ??= new OpenApiSchemas({ specPath: officialDrsSpecPath(), id: 'ga4gh-drs-1.5.0', label: 'DRS 1.5.0', errorSchema: 'Error' });
  return shared;
}
