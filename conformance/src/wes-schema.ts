/**
 * The **official** GA4GH WES 1.1.0 document (`shared/ga4gh/wes/1.1.0/bundled/openapi.json`),
 * compiled for the contract tests; see openapi-schema.ts for how OpenAPI 3.0 becomes JSON Schema.
 */
import { OpenApiSchemas, officialSpecPath } from './openapi-schema';

/** `GA4GH_WES_SPEC` if set, else `shared/` beside the repository, else `shared/` inside it. */
export function officialWesSpecPath(): string {
  return officialSpecPath({ envVar: 'GA4GH_WES_SPEC', relative: 'ga4gh/wes/1.1.0/bundled/openapi.json', label: 'GA4GH WES 1.1.0' });
}

let shared: OpenApiSchemas | undefined;
/** One compiled instance per process. */
export function wesSchemas(): OpenApiSchemas {
  shared ??= new OpenApiSchemas({ specPath: officialWesSpecPath(), id: 'ga4gh-wes-1.1.0', label: 'WES 1.1.0', errorSchema: 'ErrorResponse' });
  return shared;
}
