import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BROKER_SPEC_PATH, brokerOpenApiDocument } from './document';

describe('api-spec/broker.yaml', () => {
  it('is what the zod routes produce (run `npm run gen` after changing a route)', () => {
    const committed = parse(readFileSync(BROKER_SPEC_PATH, 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(brokerOpenApiDocument())));
  });

  it('documents every broker route with bearer security and the GA4GH error shape', () => {
    const doc = brokerOpenApiDocument() as unknown as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/v1/admin/backends',
      '/api/v1/admin/backends/{id}',
      '/api/v1/admin/backends/{id}/disable',
      '/api/v1/admin/backends/{id}/enable',
      '/api/v1/admin/backends/{id}/sync',
      '/api/v1/audit',
      '/api/v1/backends',
      '/api/v1/backends/{id}',
      '/api/v1/backends/{id}/health',
      '/api/v1/batches',
      '/api/v1/batches/{batch_id}',
      '/api/v1/batches/{batch_id}/cancel',
      '/api/v1/credentials',
      '/api/v1/credentials/{backend_id}',
      '/api/v1/events',
      '/api/v1/me',
      '/api/v1/me/notifications',
      '/api/v1/me/notifications/deliveries',
      '/api/v1/objects/{object_id}/content',
      '/api/v1/objects/{object_id}/content/{file_name}',
      '/api/v1/panels',
      '/api/v1/panels/recommendation',
      '/api/v1/routes/preview',
      '/api/v1/runs/{run_id}/outputs/{file_id}',
      '/api/v1/runs/{run_id}/result-password',
      '/api/v1/runs/{run_id}/results',
      '/api/v1/runs/{run_id}/routing',
      '/api/v1/uploads',
      '/api/v1/uploads/{upload_id}',
      '/api/v1/webhooks',
      '/api/v1/webhooks/{webhook_id}',
      '/api/v1/webhooks/{webhook_id}/deliveries',
    ]);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        // Bearer everywhere; the object-content routes also take a signed link instead (`{}`).
        expect(op.security).toContainEqual({ bearerAuth: [] });
        expect(op.responses['401']).toBeDefined();
      }
    }
    expect(doc.components.schemas.ErrorResponse).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });
});
