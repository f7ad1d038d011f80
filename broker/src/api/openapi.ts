/**
 * The broker's own API (code-first): routes are declared with zod-openapi, and the document
 * they produce is committed as api-spec/broker.yaml and checked for drift in CI.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/context';
import { errorBody } from '../http/errors';

export const ErrorSchema = z
  .object({ msg: z.string(), status_code: z.number().int() })
  .openapi('ErrorResponse', { description: 'The GA4GH error shape, used by every API of the broker.' });

export function createApiApp(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue?.path.join('.') || 'request';
        return c.json(errorBody(400, `${where}: ${issue?.message ?? 'invalid request'}`), 400);
      }
      return undefined;
    },
  });
}

export const errorResponses = {
  400: { description: 'Bad request', content: { 'application/json': { schema: ErrorSchema } } },
  401: { description: 'No valid bearer token', content: { 'application/json': { schema: ErrorSchema } } },
  404: { description: 'Not found (or not yours)', content: { 'application/json': { schema: ErrorSchema } } },
} as const;

export const BROKER_API_INFO = {
  openapi: '3.0.3',
  info: {
    title: 'Imputation broker API',
    version: '0.1.0',
    description:
      'The broker-specific API beside GA4GH WES 1.1: result downloads, result passwords, backends and their reference panels, ' +
      'the live event stream of your runs (Server-Sent Events), webhooks and e-mail notification preferences.',
  },
};
