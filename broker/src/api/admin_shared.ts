/** Responses every admin backend route may give, in the GA4GH error shape. */
import { ErrorSchema, errorResponses } from './openapi';

const error = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

export const adminErrorResponses = {
  ...errorResponses,
  403: error('Not an administrator (policy action backends:admin)'),
  409: error('The id is taken, or the backend is defined in CONFIG_FILE'),
  412: error('If-Match names a version that is no longer current'),
} as const;
