/**
 * POST /api/v1/batches: many runs in one request, all or nothing. Each run's inputs are https
 * URLs or drs:// URIs (e.g. of files sent to /api/v1/uploads), fetched and checked exactly as
 * POST /ga4gh/wes/v1/runs does (`prepareRun`); a 400 names the index of every bad run and
 * nothing is stored. The runs and the batch are written in one transaction.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ownerKey } from '../auth/principal';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, badRequest } from '../http/errors';
import type { StagedInput } from '../runs/inputs';
import { checkUnknownParams, parseNotBefore } from '../runs/params';
import type { NewRunInput } from '../runs/service';
import { prepareRun, removeStaged, routingCandidates, selectInputs, WORKFLOW_TYPE, WORKFLOW_TYPE_VERSION } from '../wes/runs_post';
import { ErrorSchema, errorResponses } from './openapi';

export const MAX_BATCH_RUNS = 500;
/** Problems listed in one refusal; the rest are counted. */
const MAX_LISTED = 20;

const Tags = z.record(z.string().max(200), z.string().max(1000));

const route = createRoute({
  method: 'post',
  path: '/api/v1/batches',
  operationId: 'CreateBatch',
  summary: `Submit up to ${MAX_BATCH_RUNS} runs at once (inputs by https URL or drs:// URI); all are accepted or none`,
  security: [{ bearerAuth: [] }],
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              name: z.string().max(200).optional(),
              tags: Tags.optional().openapi({ description: "Given to every run of the batch (a run's own tags win)" }),
              runs: z
                .array(
                  z.object({
                    workflow_params: z.record(z.string(), z.unknown()).openapi({
                      description: 'As in a WES run; `files` lists https URLs or drs:// URIs',
                      example: { files: ['drs://broker.example.org/5b0e8f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b'], refpanel: '1000g-phase-3-v5', population: 'eur' },
                    }),
                    tags: Tags.optional(),
                  }),
                )
                .min(1)
                .max(MAX_BATCH_RUNS),
            })
            .openapi('BatchRequest'),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Every run stored and queued',
      content: { 'application/json': { schema: z.object({ batch_id: z.string(), run_ids: z.array(z.string()) }).openapi('BatchCreated') } },
    },
    403: { description: 'Not allowed to submit runs', content: { 'application/json': { schema: ErrorSchema } } },
    ...errorResponses,
  },
});

const REMOTE = /^(https:\/\/|drs:\/\/)/i;

export function registerBatchesPost(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const principal = c.get('principal');
    await deps.access.require(c, 'runs:submit');
    const body = c.req.valid('json');
    const problems: string[] = [];
    const fail = (i: number, e: unknown) => {
      if (!(e instanceof ApiError) || e.status >= 500) throw e;
      problems.push(`runs[${i}]: ${e.message}`);
    };

    // Cheap checks of every run first, so a bad run at the end costs no downloads.
    for (const [i, r] of body.runs.entries()) {
      try {
        checkUnknownParams(r.workflow_params);
        parseNotBefore(r.workflow_params.not_before);
        const files = r.workflow_params.files;
        const list = typeof files === 'string' ? [files] : files;
        if (!Array.isArray(list) || !list.length || list.some((f) => typeof f !== 'string' || !REMOTE.test(f))) {
          throw badRequest('workflow_params.files must be a non-empty list of https URLs or drs:// URIs (upload files with POST /api/v1/uploads first).');
        }
      } catch (e) {
        fail(i, e);
      }
    }
    if (problems.length) throw refusal(problems);

    const staged: StagedInput[] = [];
    const prepared: NewRunInput[] = [];
    // The batch's runs are stored together at the end: until then routing counts them here.
    const pending = new Map<string, number>();
    const candidates = await routingCandidates(deps);
    let keep = false;
    try {
      for (const [i, r] of body.runs.entries()) {
        try {
          const mine: StagedInput[] = [];
          const inputs = await selectInputs(deps, c, r.workflow_params.files, mine);
          staged.push(...mine);
          const tags = { ...(body.tags ?? {}), ...(r.tags ?? {}) };
          const request = {
            workflow_type: WORKFLOW_TYPE,
            workflow_type_version: WORKFLOW_TYPE_VERSION,
            workflow_url: `${deps.urls.base}/workflows/imputation`,
            workflow_params: r.workflow_params,
            ...(Object.keys(tags).length ? { tags } : {}),
          };
          const run = await prepareRun(deps, principal, request, inputs, { candidates, pending });
          prepared.push(run);
          pending.set(run.backendId, (pending.get(run.backendId) ?? 0) + 1);
        } catch (e) {
          fail(i, e);
        }
      }
      if (problems.length) throw refusal(problems);
      const made = await deps.runs.createBatch({
        owner: { key: ownerKey(principal), issuer: principal.issuer, subject: principal.subject },
        name: body.name ?? null,
        tags: body.tags ?? {},
        runs: prepared,
      });
      keep = true;
      deps.log.info({ batchId: made.batchId, runs: made.runs.length }, 'batch created');
      await deps.audit?.record({
        action: 'batch.submitted',
        outcome: 'ok',
        actor: principal,
        object: { kind: 'batch', id: made.batchId },
        details: { runs: made.runs.length, backends: [...new Set(made.runs.map((r) => r.backendId))] },
        source: deps.audit.source(c),
      });
      return c.json({ batch_id: made.batchId, run_ids: made.runs.map((r) => r.id) }, 201);
    } finally {
      if (!keep) await removeStaged(deps, staged);
    }
  });
}

function refusal(problems: string[]): ApiError {
  const more = problems.length > MAX_LISTED ? ` (and ${problems.length - MAX_LISTED} more)` : '';
  return badRequest(`Nothing was submitted: ${problems.length} run${problems.length === 1 ? '' : 's'} of the batch cannot be accepted. ${problems.slice(0, MAX_LISTED).join(' ')}${more}`);
}
