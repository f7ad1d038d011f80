/**
 * The broker API's OpenAPI document, built from the zod routes alone (no database, no
 * backends), so it can be emitted to api-spec/broker.yaml and checked for drift.
 */
import type { MiddlewareHandler } from 'hono';
import { createBrokerApi } from '../app';
import type { AppDeps, AppEnv } from '../http/context';
import { BROKER_API_INFO } from './openapi';

export function brokerOpenApiDocument(): ReturnType<ReturnType<typeof createBrokerApi>['getOpenAPIDocument']> {
  const passThrough: MiddlewareHandler<AppEnv> = async (_c, next) => next();
  // Handlers are never called while the document is generated; only the routes are read.
  const deps = { authenticate: passThrough } as Pick<AppDeps, 'authenticate'> as AppDeps;
  return createBrokerApi(deps).getOpenAPIDocument(BROKER_API_INFO);
}

export const BROKER_SPEC_PATH = new URL('../../../api-spec/broker.yaml', import.meta.url);
