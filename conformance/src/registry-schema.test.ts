/** The official Service Registry 1.0.0 document compiles strictly, with service-info 1.0.0 inlined, and its validator really refuses. */
import { describe, expect, it } from 'vitest';
import { bundledRegistryDocument, registrySchemas } from './registry-schema';

const service = {
  id: 'org.example.wes',
  name: 'A WES',
  type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
  organization: { name: 'Example', url: 'https://example.org' },
  version: '1.0.0',
  url: 'https://example.org',
};

describe('the Service Registry 1.0.0 document', () => {
  it('has no remote $ref left and declares the four operations', () => {
    expect(JSON.stringify(bundledRegistryDocument())).not.toContain('https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/service-info.yaml#');
    expect(registrySchemas().operations().map(([p, m]) => `${m} ${p}`).sort()).toEqual(['get /service-info', 'get /services', 'get /services/types', 'get /services/{serviceId}']);
  });

  it('accepts an ExternalService and refuses one without url, type or organization.url', () => {
    const s = registrySchemas();
    expect(s.validateSchema('ExternalService', service).errors).toEqual([]);
    const { url: _url, ...noUrl } = service;
    expect(s.validateSchema('ExternalService', noUrl).errors).toContain("(root): must have required property 'url'");
    const { type: _type, ...noType } = service;
    expect(s.validateSchema('ExternalService', noType).valid).toBe(false);
    expect(s.validateSchema('ExternalService', { ...service, organization: { name: 'x', url: 'not a uri' } }).errors).toContain('/organization/url: must match format "uri"');
    expect(s.validateSchema('Error', { status: 404 }).valid).toBe(false);
    expect(s.validateSchema('Error', { status: 404, title: 'Not found' }).valid).toBe(true);
  });
});
