/**
 * The GA4GH DRS 1.5 endpoint under /ga4gh/drs/v1, and CORS for the GA4GH APIs.
 *
 * DRS uses the OPTIONS method for an operation of its own (OptionsObject), which a browser's CORS
 * pre-flight shares. A pre-flight always carries `Origin` and `Access-Control-Request-Method`; a
 * DRS client's OPTIONS call does not, so only the former is answered as a pre-flight.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { App, AppDeps, AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { registerAccessBulk } from './access_bulk';
import { registerAccessGet } from './access_get';
import { registerObjectsBulk } from './objects_bulk';
import { registerObjectsGet } from './objects_get';
import { registerObjectsOptions } from './objects_options';
import { registerDrsServiceInfo } from './service_info';

/** CORS for browsers calling the GA4GH APIs and object downloads with a bearer token. */
export function gaCors(origins: '*' | string[]): MiddlewareHandler<AppEnv> {
  const preflight = cors({
    origin: origins,
    allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Range'],
    exposeHeaders: ['Content-Range', 'Content-Length', 'Accept-Ranges', 'ETag', 'Digest', 'Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
    maxAge: 600,
  });
  const allowed = (origin: string) => (origins === '*' ? '*' : origins.includes(origin) ? origin : null);
  return async (c, next) => {
    const isPreflight = c.req.method === 'OPTIONS' && c.req.header('origin') && c.req.header('access-control-request-method');
    if (c.req.method !== 'OPTIONS' || isPreflight) return preflight(c, next);
    // A DRS OptionsObject call: answered by its handler, readable cross-origin like any other.
    await next();
    const origin = allowed(c.req.header('origin') ?? '');
    if (origin) c.res.headers.set('Access-Control-Allow-Origin', origin);
    if (origins !== '*') c.res.headers.append('Vary', 'Origin');
  };
}

/** The methods each DRS path serves; any other method there is a 405 naming them. */
const PATHS: [string, string[]][] = [
  ['/ga4gh/drs/v1/service-info', ['GET']],
  ['/ga4gh/drs/v1/objects/access', ['POST']],
  ['/ga4gh/drs/v1/objects', ['POST', 'OPTIONS']],
  ['/ga4gh/drs/v1/objects/:object_id', ['GET', 'POST', 'OPTIONS']],
  ['/ga4gh/drs/v1/objects/:object_id/access/:access_id', ['GET', 'POST']],
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The nine DRS 1.5 operations. Bulk routes first: `/objects/access` is not an object id. */
export function registerDrs(app: App, deps: AppDeps): void {
  registerDrsServiceInfo(app, deps);
  registerAccessBulk(app, deps);
  registerObjectsBulk(app, deps);
  registerObjectsOptions(app, deps);
  registerObjectsGet(app, deps);
  registerAccessGet(app, deps);
  for (const [path, allowed] of PATHS) {
    const others = METHODS.filter((m) => !allowed.includes(m) && !(m === 'GET' && allowed.includes('HEAD')));
    app.on(others, path, (c) => {
      throw new ApiError(405, `${c.req.method} is not a DRS operation on this path; it takes ${allowed.join(', ')}.`, { Allow: allowed.join(', ') });
    });
  }
}
