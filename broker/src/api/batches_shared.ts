/** What the batch routes share: the summary shape and how a stored batch becomes one. */
import { z } from '@hono/zod-openapi';
import type { Batch } from '../db/entities';
import type { AppDeps } from '../http/context';

export const BatchSummarySchema = z
  .object({
    batch_id: z.string(),
    name: z.string().nullable(),
    created_at: z.string(),
    tags: z.record(z.string(), z.string()),
    runs_total: z.number().int(),
    counts: z.record(z.string(), z.number().int()).openapi({ description: 'Runs by WES state', example: { QUEUED: 3, RUNNING: 2, COMPLETE: 5 } }),
    run_ids: z.array(z.string()).optional().openapi({ description: 'In submission order (single batch only)' }),
  })
  .openapi('BatchSummary');

export type BatchSummary = z.infer<typeof BatchSummarySchema>;

export function batchSummary(b: Batch, counts: Record<string, number>, runIds?: string[]): BatchSummary {
  return {
    batch_id: b.id,
    name: b.name,
    created_at: b.createdAt.toISOString(),
    tags: b.tags,
    runs_total: b.runsTotal,
    counts,
    ...(runIds ? { run_ids: runIds } : {}),
  };
}

export async function fullSummary(deps: AppDeps, b: Batch): Promise<BatchSummary> {
  const [counts, ids] = await Promise.all([deps.runs.batchCounts([b.id]), deps.runs.batchRunIds(b.id)]);
  return batchSummary(b, counts.get(b.id) ?? {}, ids);
}
