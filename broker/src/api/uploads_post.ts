/**
 * POST /api/v1/uploads?name=chr20.vcf.gz: one input file, streamed (the raw body, so a browser
 * can show progress and send the next file while the first is checked), inspected on the way in
 * with Cloudgene's own rules, and kept as a DRS object of the caller's that runs then name by its
 * `drs://` URI. A file that fails the pre-flight check is refused with the reason and not kept; a
 * failed upload is retried alone, without sending the others again.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { buildFromChromosomeNames, validateCohort } from '@ibroker/adapters/vcf/inspect';
import { BlobTooLargeError } from '../blobs/store';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, badRequest } from '../http/errors';
import { checkFileName, stageStream, summaryOf } from '../runs/inputs';
import { drsUri } from '../wes/views';
import { MAX_SAMPLES, MIN_SAMPLES } from '../wes/runs_post';
import { ErrorSchema, errorResponses } from './openapi';

export const UploadSchema = z
  .object({
    id: z.string(),
    drs_uri: z.string().openapi({ example: 'drs://broker.example.org/5b0e8f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b' }),
    name: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    md5: z.string(),
    created_at: z.string(),
    vcf: z
      .object({
        samples: z.number().int(),
        chromosomes: z.array(z.string()),
        variants: z.number().int(),
        phased: z.boolean().nullable(),
        build: z.enum(['hg19', 'hg38']).nullable().openapi({ description: 'Detected from the chromosome names (20 vs chr20)' }),
      })
      .optional()
      .openapi({ description: 'What the pre-flight check read; absent in listings' }),
  })
  .openapi('Upload');

const route = createRoute({
  method: 'post',
  path: '/api/v1/uploads',
  operationId: 'UploadInput',
  summary: 'Upload one bgzipped VCF (raw body), checked on the way in; name it in runs by its drs:// URI',
  security: [{ bearerAuth: [] }],
  request: {
    query: z.object({ name: z.string().openapi({ description: 'File name, ending in .vcf.gz', example: 'chr20.vcf.gz' }) }),
    body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, required: true },
  },
  responses: {
    201: { description: 'Stored and checked', content: { 'application/json': { schema: UploadSchema } } },
    403: { description: 'Not allowed to submit runs', content: { 'application/json': { schema: ErrorSchema } } },
    413: { description: 'Larger than the upload limit', content: { 'application/json': { schema: ErrorSchema } } },
    ...errorResponses,
  },
});

export function registerUploadsPost(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    await deps.access.require(c, 'runs:submit');
    const name = checkFileName(c.req.valid('query').name);
    if (!name.endsWith('.vcf.gz')) throw badRequest(`'${name}' must be a bgzipped VCF whose name ends in '.vcf.gz' (Cloudgene only reads *.vcf.gz).`);
    const max = deps.config.maxUploadBytes;
    const declared = Number(c.req.header('content-length') ?? 'NaN');
    if (declared > max) throw new ApiError(413, `The file is ${declared} bytes; the limit is ${max} bytes.`);
    const body = c.req.raw.body;
    if (!body) throw badRequest('The request has no body: send the file itself as the body.');
    let staged;
    try {
      staged = await stageStream(deps.blobs, name, Readable.fromWeb(body as WebReadableStream<Uint8Array>), max);
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw new ApiError(413, `The file is larger than the limit of ${max} bytes.`);
      throw badRequest(`The upload of '${name}' broke off (${(err as Error).message}); send it again.`);
    }
    let keep = false;
    try {
      const summary = await summaryOf(staged);
      const detected = buildFromChromosomeNames(summary.chromosomes);
      const build = detected === 'hg19' || detected === 'hg38' ? detected : null;
      // The checks one file can fail alone; those across files (same samples...) come at submission.
      const problems = validateCohort([{ name, summary }], { build: build ?? 'hg19', minSamples: MIN_SAMPLES, maxSamples: MAX_SAMPLES, phasing: 'eagle' });
      if (problems.length) throw badRequest(`Pre-flight check failed for '${name}': ${problems.join(' ')}`);
      const principal = c.get('principal');
      const object = await deps.objects.recordUpload({ issuer: principal.issuer, subject: principal.subject }, name, staged.blob);
      keep = true;
      await deps.audit?.record({
        action: 'upload.stored',
        outcome: 'ok',
        actor: principal,
        object: { kind: 'object', id: object.id },
        details: { name, size: object.size, samples: summary.samples.length },
        source: deps.audit.source(c),
      });
      return c.json(
        {
          id: object.id,
          drs_uri: drsUri(deps.urls, object.id),
          name,
          size: object.size,
          sha256: object.sha256,
          md5: object.md5,
          created_at: object.createdAt.toISOString(),
          vcf: { samples: summary.samples.length, chromosomes: summary.chromosomes, variants: summary.variants, phased: summary.phased, build },
        },
        201,
      );
    } finally {
      if (!keep) await deps.blobs.delete(staged.blob.key);
    }
  });
}
