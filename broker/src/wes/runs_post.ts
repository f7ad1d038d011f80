/**
 * POST /runs (RunWorkflow). Streams the multipart body: each attachment goes to the blob store
 * with its SHA-256 while a VCF inspector reads the same bytes. Then fields, workflow, parameters
 * and the cohort are checked (Cloudgene's own rules and messages, now instead of hours later),
 * and only a run that passes is persisted. Any refusal removes what was staged.
 */
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import type { RunId } from '@ibroker/api-spec/index';
import { buildFromChromosomeNames, validateCohort, type VcfSummary } from '@ibroker/adapters/vcf/inspect';
import { BlobTooLargeError } from '../blobs/store';
import { ownerKey } from '../auth/principal';
import type { RunRequestRecord } from '../db/entities';
import type { Context } from 'hono';
import type { App, AppDeps, AppEnv } from '../http/context';
import { stageDrsInput } from '../drs/resolve';
import { ApiError, badRequest } from '../http/errors';
import { checkFileName, printable, stageStream, stageUrl, summaryOf, type StagedInput } from '../runs/inputs';
import { parseNotBefore, resolveRun, type Candidate } from '../runs/params';
import type { NewRunInput } from '../runs/service';
import type { Principal } from '../auth/principal';
import { CredentialError } from '../vault/vault';

export const WORKFLOW_TYPE = 'NFL';
export const WORKFLOW_TYPE_VERSION = 'DSL2';
export const PIPELINE_REPOSITORIES = ['https://github.com/genepi/imputationserver2', 'https://github.com/AfriGen-D/imputationserver2'];
export const MIN_SAMPLES = 20;
export const MAX_SAMPLES = 50_000;

const TEXT_FIELDS = [
  'workflow_params',
  'workflow_type',
  'workflow_type_version',
  'tags',
  'workflow_engine',
  'workflow_engine_version',
  'workflow_engine_parameters',
  'workflow_url',
] as const;
type TextField = (typeof TEXT_FIELDS)[number];

export function workflowUrls(base: string): string[] {
  return [`${base}/workflows/imputation`, ...PIPELINE_REPOSITORIES];
}

function normalizeUrl(u: string): string {
  return u.trim().replace(/\.git$/, '').replace(/\/+$/, '');
}

interface ParsedBody {
  fields: Map<TextField, string>;
  attachments: StagedInput[];
}

/** Reads the multipart body without holding it in memory. Throws ApiError; cleans up on failure. */
async function parseMultipart(deps: AppDeps, request: Request): Promise<ParsedBody> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(contentType)) {
    throw badRequest(
      `POST /runs takes multipart/form-data (GA4GH WES 1.1), got '${printable(contentType) || 'no Content-Type'}'.`,
    );
  }
  const max = deps.config.maxUploadBytes;
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (declared > max) throw new ApiError(413, `The request is ${declared} bytes; the limit is ${max} bytes.`);
  if (!request.body) throw badRequest('The request has no body: send the run as multipart/form-data.');

  const fields = new Map<TextField, string>();
  const attachments: StagedInput[] = [];
  const pending: Promise<void>[] = [];
  const open = new Set<Readable>();
  const problems: ApiError[] = [];
  const fail = (e: unknown) => {
    problems.push(e instanceof ApiError ? e : e instanceof BlobTooLargeError ? new ApiError(413, `The upload is larger than the limit of ${max} bytes.`) : badRequest(`Malformed multipart body: ${(e as Error).message}`));
  };

  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { 'content-type': contentType },
      // Keep the name as sent so '../x' or '/abs/x' is refused rather than silently trimmed.
      preservePath: true,
      defParamCharset: 'utf8',
      limits: { fieldSize: 1024 * 1024, fields: 50, files: 500, parts: 600, headerPairs: 100 },
    });
  } catch (e) {
    throw badRequest(`Malformed multipart Content-Type: ${(e as Error).message}`);
  }

  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, done) {
      total += chunk.length;
      if (total > max) return done(new BlobTooLargeError(max));
      done(null, chunk);
    },
  });

  bb.on('field', (name, value, info) => {
    if (!(TEXT_FIELDS as readonly string[]).includes(name)) {
      problems.push(badRequest(`Unknown form field '${printable(name)}'. WES 1.1 fields are: ${TEXT_FIELDS.join(', ')}, workflow_attachment.`));
      return;
    }
    if (info.valueTruncated) {
      problems.push(badRequest(`Form field '${name}' is longer than 1 MiB.`));
      return;
    }
    if (fields.has(name as TextField)) {
      problems.push(badRequest(`Form field '${name}' was sent more than once.`));
      return;
    }
    fields.set(name as TextField, value);
  });

  bb.on('file', (name, stream, info) => {
    // A cut-off body errors every open part; the parse error itself is reported once, below.
    stream.on('error', () => undefined);
    if (name !== 'workflow_attachment') {
      stream.resume();
      problems.push(badRequest(`Files must be sent as 'workflow_attachment' parts, not '${printable(name)}'.`));
      return;
    }
    let fileName: string;
    try {
      fileName = checkFileName(info.filename ?? '');
      if (attachments.some((a) => a.name === fileName)) throw badRequest(`Two attachments are named '${fileName}'.`);
    } catch (e) {
      stream.resume();
      fail(e);
      return;
    }
    const placeholder: StagedInput = { name: fileName, blob: { key: '', size: 0, sha256: '', md5: '' }, summary: Promise.reject(new Error('not staged')) };
    placeholder.summary.catch(() => undefined);
    attachments.push(placeholder);
    open.add(stream);
    stream.on('close', () => open.delete(stream));
    pending.push(
      stageStream(deps.blobs, fileName, stream, max).then(
        (staged) => {
          Object.assign(placeholder, staged);
        },
        (e) => {
          stream.resume();
          fail(e);
        },
      ),
    );
  });
  bb.on('filesLimit', () => problems.push(badRequest('Too many attachments (at most 500).')));
  bb.on('fieldsLimit', () => problems.push(badRequest('Too many form fields.')));
  bb.on('partsLimit', () => problems.push(badRequest('Too many multipart parts.')));

  const source = Readable.fromWeb(request.body as WebReadableStream<Uint8Array>);
  try {
    await new Promise<void>((resolve, reject) => {
      bb.on('close', resolve);
      bb.on('error', reject);
      counter.on('error', reject);
      source.on('error', reject);
      source.pipe(counter).pipe(bb);
    });
  } catch (e) {
    source.destroy();
    // Parts cut off mid-stream would wait forever for their end: fail them now.
    for (const s of open) s.destroy(new Error('the request body ended early'));
    fail(e);
  }
  await Promise.allSettled(pending);
  if (problems.length) {
    await removeStaged(deps, attachments);
    const tooLarge = problems.find((p) => p.status === 413);
    throw tooLarge ?? problems[0]!;
  }
  return { fields, attachments };
}

/** Removes what this request staged; bytes of objects the broker already held are not touched. */
export async function removeStaged(deps: AppDeps, staged: StagedInput[]): Promise<void> {
  await Promise.all(staged.filter((s) => s.blob.key && !s.reused).map((s) => deps.blobs.delete(s.blob.key)));
}

function parseJsonObject(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badRequest(`${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${name} must be a JSON object.`);
  return value as Record<string, unknown>;
}

function parseStringMap(name: string, text: string | undefined): Record<string, string> | undefined {
  const obj = parseJsonObject(name, text);
  if (!obj) return undefined;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string') throw badRequest(`${name} must map strings to strings; '${printable(k)}' is ${typeof v}.`);
  }
  return obj as Record<string, string>;
}

function checkWorkflow(deps: AppDeps, fields: Map<TextField, string>): Omit<RunRequestRecord, 'workflow_params'> {
  const type = fields.get('workflow_type');
  const version = fields.get('workflow_type_version');
  const url = fields.get('workflow_url');
  if (!type) throw badRequest(`workflow_type is required; this broker runs '${WORKFLOW_TYPE}'.`);
  if (type !== WORKFLOW_TYPE) {
    throw badRequest(`workflow_type '${printable(type)}' is not supported. Supported: '${WORKFLOW_TYPE}' (Nextflow), version '${WORKFLOW_TYPE_VERSION}'.`);
  }
  if (!version) throw badRequest(`workflow_type_version is required; supported: '${WORKFLOW_TYPE_VERSION}'.`);
  if (version !== WORKFLOW_TYPE_VERSION) {
    throw badRequest(`workflow_type_version '${printable(version)}' is not supported for ${WORKFLOW_TYPE}. Supported: '${WORKFLOW_TYPE_VERSION}'.`);
  }
  const allowed = workflowUrls(deps.urls.base);
  if (!url) throw badRequest(`workflow_url is required. Supported workflows: ${allowed.join(', ')}.`);
  if (!allowed.map(normalizeUrl).includes(normalizeUrl(url))) {
    throw badRequest(`workflow_url '${printable(url)}' is not a workflow this broker runs. Supported: ${allowed.join(', ')}.`);
  }
  const engine = fields.get('workflow_engine');
  const engineVersion = fields.get('workflow_engine_version');
  if (engineVersion && !engine) throw badRequest('workflow_engine is required when workflow_engine_version is given.');
  if (engine && engine !== 'nextflow') throw badRequest(`workflow_engine '${printable(engine)}' is not supported; use 'nextflow' or leave it out.`);
  const engineParams = parseStringMap('workflow_engine_parameters', fields.get('workflow_engine_parameters'));
  if (engineParams && Object.keys(engineParams).length) {
    throw badRequest('workflow_engine_parameters are not supported: the backend chooses its engine settings.');
  }
  const tags = parseStringMap('tags', fields.get('tags'));
  return {
    workflow_type: type,
    workflow_type_version: version,
    workflow_url: url,
    ...(tags ? { tags } : {}),
    ...(engine ? { workflow_engine: engine } : {}),
    ...(engineVersion ? { workflow_engine_version: engineVersion } : {}),
  };
}

/** Which staged inputs the run uses: those named in `files` (names, https URLs or drs:// URIs), else all. */
export async function selectInputs(deps: AppDeps, c: Context<AppEnv>, raw: unknown, attachments: StagedInput[]): Promise<StagedInput[]> {
  if (raw === undefined || raw === null) {
    if (!attachments.length) throw badRequest('No input files: attach VCFs as workflow_attachment parts or list https URLs in workflow_params.files.');
    return checkInputNames([...attachments]);
  }
  const names = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string') || names.length === 0) {
    throw badRequest('workflow_params.files must be a non-empty list of attachment names, https URLs or drs:// URIs.');
  }
  const chosen: StagedInput[] = [];
  for (const name of names as string[]) {
    const attached = attachments.find((a) => a.name === name || a.name === name.split('/').pop());
    if (attached) {
      chosen.push(attached);
      continue;
    }
    if (/^drs:\/\//i.test(name)) {
      const staged = await stageDrsInput(deps, c, name, deps.config.maxUploadBytes);
      chosen.push(staged);
      attachments.push(staged); // so a later refusal removes what was fetched (never a reused blob)
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name)) {
      const staged = await stageUrl(deps.blobs, name, deps.config.maxUploadBytes, {
        allowPrivate: deps.allowPrivateInputUrls ?? false,
        allowHttp: deps.allowPrivateInputUrls ?? false,
      });
      chosen.push(staged);
      attachments.push(staged); // so a later refusal removes it too
      continue;
    }
    throw badRequest(
      `workflow_params.files names '${printable(name)}', which is not among the attachments (${attachments.map((a) => a.name).join(', ') || 'none'}).`,
    );
  }
  return checkInputNames(chosen);
}

function checkInputNames(chosen: StagedInput[]): StagedInput[] {
  const seen = new Set<string>();
  for (const c of chosen) {
    if (seen.has(c.name)) throw badRequest(`Input '${c.name}' is listed twice.`);
    seen.add(c.name);
    if (!c.name.endsWith('.vcf.gz')) {
      throw badRequest(`Input '${c.name}' must be a bgzipped VCF whose name ends in '.vcf.gz' (Cloudgene only reads *.vcf.gz).`);
    }
  }
  return chosen;
}

/**
 * Everything a run must pass before it is stored, on its staged inputs: routing (`resolveRun`),
 * the schedule, the user's own token where the backend needs it, and the cohort checks. Shared by
 * POST /runs and POST /api/v1/batches, so a run is accepted on the same terms either way.
 */
export async function prepareRun(
  deps: AppDeps,
  principal: Principal,
  request: RunRequestRecord,
  inputs: StagedInput[],
  /**
   * A batch: the backends as read once for the whole request, and its runs routed so far (not
   * stored yet) by backend, which count as load.
   */
  batch?: { candidates: Candidate[]; pending: Map<string, number> },
): Promise<NewRunInput> {
  const params = request.workflow_params;
  const notBefore = parseNotBefore(params.not_before);
  const summaries: { name: string; summary: VcfSummary }[] = [];
  for (const input of inputs) summaries.push({ name: input.name, summary: await summaryOf(input) });
  const detected = buildFromChromosomeNames(summaries.flatMap((s) => s.summary.chromosomes));
  const candidates = batch
    ? batch.candidates.map((c) => ({ ...c, queuedRuns: (c.queuedRuns ?? 0) + (batch.pending.get(c.id) ?? 0) }))
    : await routingCandidates(deps);
  const resolved = resolveRun(params, candidates, detected === 'hg19' || detected === 'hg38' ? detected : null);

  const chosen = deps.registry.get(resolved.backendId);
  if (chosen?.config.credentials === 'user' && deps.vault) {
    // This backend runs jobs under each user's own account: without their token it cannot.
    try {
      await deps.vault.resolve({ issuer: principal.issuer, subject: principal.subject }, resolved.backendId, 'user');
    } catch (err) {
      if (!(err instanceof CredentialError)) throw err;
      throw badRequest(`${err.message} ${chosen.config.name} runs jobs under your own account: store your API token with PUT /api/v1/credentials/${resolved.backendId}.`);
    }
  }

  const problems = validateCohort(summaries, {
    build: resolved.params.build as 'hg19' | 'hg38',
    minSamples: MIN_SAMPLES,
    maxSamples: MAX_SAMPLES,
    phasing: resolved.params.phasing,
  });
  if (problems.length) throw badRequest(`Pre-flight check failed: ${problems.join(' ')}`);
  return {
    owner: { key: ownerKey(principal), issuer: principal.issuer, subject: principal.subject },
    request,
    params: resolved.params,
    requestedBackend: typeof params.backend === 'string' ? params.backend : 'auto',
    backendId: resolved.backendId,
    reasons: resolved.reasons,
    failover: resolved.failover,
    notBefore,
    inputs: inputs.map((i) => ({ name: i.name, blob: i.blob, mimeType: 'application/gzip' })),
  };
}

/** The backends as routing sees them (registry views: enabled, deactivated, health, load). */
export async function routingCandidates(deps: Pick<AppDeps, 'registry'>): Promise<Candidate[]> {
  return (await deps.registry.views()).map((v) => ({ ...v }));
}

export function registerRunsPost(app: App, deps: AppDeps): void {
  app.post('/ga4gh/wes/v1/runs', deps.authenticate, async (c) => {
    const principal = c.get('principal');
    // Before a single byte of the upload is read.
    await deps.access.require(c, 'runs:submit');
    const { fields, attachments } = await parseMultipart(deps, c.req.raw);
    let keep = false;
    try {
      const workflow = checkWorkflow(deps, fields);
      const params = parseJsonObject('workflow_params', fields.get('workflow_params'));
      if (!params) throw badRequest('workflow_params is required: a JSON object with at least refpanel (and files when you attach none).');
      parseNotBefore(params.not_before); // before any input is fetched
      const inputs = await selectInputs(deps, c, params.files, attachments);
      const run = await deps.runs.create(await prepareRun(deps, principal, { ...workflow, workflow_params: params }, inputs));
      keep = true;
      // Attachments the run does not use are not kept.
      await removeStaged(deps, attachments.filter((a) => !inputs.includes(a)));
      deps.log.info({ runId: run.id, backend: run.backendId, files: inputs.length }, 'run created');
      await deps.audit?.record({
        action: 'run.submitted',
        outcome: 'ok',
        actor: principal,
        object: { kind: 'run', id: run.id },
        details: { backend: run.backendId, files: inputs.length, refpanel: run.params.refpanel },
        source: deps.audit.source(c),
      });
      return c.json({ run_id: run.id } satisfies RunId, 200);
    } finally {
      if (!keep) await removeStaged(deps, attachments);
    }
  });
}
