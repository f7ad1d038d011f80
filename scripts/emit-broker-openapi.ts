/** Writes api-spec/broker.yaml from the broker's zod routes (`npm run gen`). */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { BROKER_SPEC_PATH, brokerOpenApiDocument } from '../broker/src/api/document';

writeFileSync(
  BROKER_SPEC_PATH,
  `# Generated from the zod-openapi routes in broker/src/api by \`npm run gen\`; do not edit.\n${stringify(brokerOpenApiDocument())}`,
);
console.log(`wrote ${BROKER_SPEC_PATH.pathname}`);
