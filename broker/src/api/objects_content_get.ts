/**
 * GET /api/v1/objects/{object_id}/content: the bytes of a DRS object, streamed with `Range`
 * support. Two ways in: the caller's bearer token (the DRS `https` access method, the same rules
 * as GetObject), or the query of a signed link from DRS `/access` (no token; 403 when altered or
 * expired).
 */
import type { Context } from 'hono';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { blobResponse } from '../blobs/serve';
import { drsCaller, hiddenObject, readableObject } from '../drs/caller';
import type { StoredObject } from '../db/entities';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { ErrorSchema, errorResponses } from './openapi';

/** Signed links need no token: OpenAPI's empty security requirement (typed, or zod-openapi infers `never`). */
const NO_TOKEN: Record<string, string[]> = {};

const binary = { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } };

const linkQuery = z.object({
      expires: z.string().openapi({ description: 'Signed links: expiry, seconds since the epoch' }).optional(),
      caller: z.string().openapi({ description: 'Signed links: who the link was issued to (a digest)' }).optional(),
      signature: z.string().openapi({ description: 'Signed links: the broker’s signature of object, expiry and caller' }).optional(),
    });

const responses = {
    200: { description: 'The bytes', content: binary },
    206: { description: 'The requested byte range', content: binary },
    403: { description: 'Not allowed, or a signed link that was altered or has expired', content: { 'application/json': { schema: ErrorSchema } } },
    416: { description: 'Range not satisfiable', content: { 'application/json': { schema: ErrorSchema } } },
    ...errorResponses,
} as const;

const route = createRoute({
  method: 'get',
  path: '/api/v1/objects/{object_id}/content',
  operationId: 'GetObjectContent',
  summary: "Download a DRS object's bytes (bearer token, or a signed link from DRS /access)",
  security: [{ bearerAuth: [] }, NO_TOKEN],
  request: { params: z.object({ object_id: z.string() }), query: linkQuery },
  responses,
});

/** The same, with the file name as the last path segment (what signed links look like); the name is not checked. */
const namedRoute = createRoute({
  method: 'get',
  path: '/api/v1/objects/{object_id}/content/{file_name}',
  operationId: 'GetObjectContentNamed',
  summary: "Download a DRS object's bytes, the URL ending in its file name",
  security: [{ bearerAuth: [] }, NO_TOKEN],
  request: { params: z.object({ object_id: z.string(), file_name: z.string() }), query: linkQuery },
  responses,
});

export function registerObjectsContentGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const handler = async (c: Context<AppEnv>, object_id: string, query: z.infer<typeof linkQuery>): Promise<Response> => {
    const signed = query.signature !== undefined || query.expires !== undefined || query.caller !== undefined;
    let object: StoredObject;
    let actor: { issuer: string; subject: string } | null = null;
    if (signed) {
      const check = deps.links.check(object_id, query);
      if (!check.ok) {
        await deps.audit?.record({
          action: 'object.link_refused',
          outcome: 'denied',
          object: { kind: 'object', id: object_id.slice(0, 80) },
          reason: check.reason,
          source: deps.audit.source(c),
        });
        throw new ApiError(403, check.message);
      }
      const found = await deps.objects.get(object_id);
      // Deleted since the link was issued.
      if (!found) throw hiddenObject(object_id);
      object = found;
    } else {
      const caller = await drsCaller(deps, c, []);
      object = await readableObject(deps, c, caller, object_id);
      actor = caller.principal;
    }
    if (object.referenceUrl !== null) throw new ApiError(404, `Object '${object.id}' is not held by this broker: its backend keeps it at ${object.referenceUrl}.`);
    if (object.blobKey === null) throw new ApiError(400, `Object '${object.id}' is a bundle; download the objects it lists (GET /ga4gh/drs/v1/objects/${object.id}).`);
    await deps.audit?.record({
      action: 'object.downloaded',
      outcome: 'ok',
      actor,
      object: { kind: 'object', id: object.id },
      details: {
        via: signed ? 'signed_link' : 'bearer',
        ...(signed ? { issued_to: query.caller } : {}),
        ...(object.runId ? { run: object.runId } : {}),
        name: object.name,
        range: c.req.header('range') ?? null,
      },
      source: deps.audit.source(c),
    });
    return blobResponse(deps.blobs, object, c.req.raw);
  };
  // A streamed binary body is a plain Response; the routes' OpenAPI entries document it.
  api.openapi(route, (c) => handler(c, c.req.valid('param').object_id, c.req.valid('query')) as never);
  api.openapi(namedRoute, (c) => handler(c, c.req.valid('param').object_id, c.req.valid('query')) as never);
}
