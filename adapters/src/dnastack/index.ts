/**
 * The DNAstack Workbench adapter: eWES (WES with DNAstack's extensions) under a namespace, a
 * registered WDL workflow referenced as `<workflowId>/<versionId>`, OAuth 2 client credentials
 * against the wallet, inputs as https URLs the engine reads (eWES has no upload), outputs in the
 * namespace's cloud storage: streamed when they are URLs the broker can reach, registered by
 * reference when they are bucket URIs (`gs://`, `s3://`, Azure).
 */
import type { Readable } from 'node:stream';
import { type Adapter, BackendError, type Catalog, type HealthReport, type Panel, type RemoteJob, type RemoteOutput, type SubmitRequest } from '../types';
import { TERMINAL_STATES } from '../types';
import { asArray, asRecord, asString } from '../http/json';
import { configuredCatalog } from '../wes/catalog';
import { templatePlaceholders, type ParamTemplate } from '../wes/params';
import { checkSubmitRequest, runTags, workflowParams, RUN_ID_TAG } from '../wes/submit';
import { readLog, type WireLog } from '../wes/wire';
import { DnastackClient, type DnastackClientOptions } from './client';
import { mapEwesState, readExtendedRun, toRemoteJob } from './runs';

export { mapEwesState, readEvents, readExtendedRun } from './runs';
export { classifyEwes, classifyWallet } from './errors';
export { DnastackClient } from './client';
export type { DnastackClientOptions } from './client';

/**
 * Input names of a WDL imputation workflow as the DNAstack fixtures show them
 * (`imputation.vcf_files`, `imputation.reference_panel`, `imputation.build`). Which WDL workflow
 * a namespace has registered is not known (digest §8), so this is configuration too.
 */
export const WDL_PARAM_TEMPLATE: ParamTemplate = {
  'imputation.vcf_files': '${files}',
  'imputation.reference_panel': '${panelId}',
  'imputation.population': '${population}',
  'imputation.build': '${build}',
  'imputation.phasing': '${phasing}',
  'imputation.r2_filter': '${r2Filter}',
  'imputation.mode': '${mode}',
};

export interface DnastackAdapterOptions extends DnastackClientOptions {
  /** The Workbench workflow's internal id and version id: `workflow_url = <workflowId>/<versionId>`. */
  workflowId: string;
  workflowVersionId: string;
  /** WDL version of the workflow (`1.0`, `draft-2`). */
  workflowTypeVersion?: string;
  /** The execution engine; default the namespace's default engine. */
  engineId?: string;
  paramTemplate?: ParamTemplate;
  /** Extra tags for every run; `${runId}` in a value is replaced. */
  tags?: Record<string, string>;
  /** The panels the workflow offers (WES has no panel discovery). */
  panels: Panel[];
  catalog?: { builds?: string[]; phasing?: string[]; r2Filter?: string[]; modes?: string[] };
  /** Upper bound on run-list pages read by `findByRunId`. */
  maxListPages?: number;
  pageSize?: number;
}

export interface DnastackAdapter extends Adapter {
  readonly kind: 'dnastack';
  /** Tokens fetched so far (one per expiry or revocation, never one per call). */
  readonly tokensFetched: number;
}

const DEFAULT_MAX_LIST_PAGES = 100;
const DEFAULT_PAGE_SIZE = 100;
const MAX_TASK_PAGES = 20;

export function createDnastackAdapter(options: DnastackAdapterOptions): DnastackAdapter {
  const client = new DnastackClient(options);
  if (!options.workflowId || !options.workflowVersionId) throw new TypeError('DNAstack adapter: workflowId and workflowVersionId are required');
  if (!options.panels || options.panels.length === 0) throw new TypeError('DNAstack adapter: panels are required; eWES cannot say which panels a workflow offers');
  const template = options.paramTemplate ?? WDL_PARAM_TEMPLATE;
  const sendsPassword = templatePlaceholders(template).has('password');
  const workflowUrl = `${options.workflowId}/${options.workflowVersionId}`;
  const workflowTypeVersion = options.workflowTypeVersion ?? '1.0';
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxListPages = options.maxListPages ?? DEFAULT_MAX_LIST_PAGES;
  const catalog = (): Catalog =>
    configuredCatalog({ appId: workflowUrl, appVersion: `WDL ${workflowTypeVersion}`, panels: options.panels, ...options.catalog });
  const runPath = (remoteId: string, rest = ''): Promise<string> => client.wes(`/runs/${encodeURIComponent(remoteId)}${rest}`);

  async function health(): Promise<HealthReport> {
    const started = performance.now();
    const latency = (): number => Math.round(performance.now() - started);
    try {
      const info = asRecord(await client.json(await client.wes('/service-info'), { context: 'api' }));
      const name = asString(info.name) ?? 'eWES';
      return { ok: true, latencyMs: latency(), maintenance: false, detail: `DNAstack ${name}, namespace ${await client.namespace()}` };
    } catch (error) {
      const kind = error instanceof BackendError ? error.kind : 'unreachable';
      return { ok: false, latencyMs: latency(), maintenance: kind === 'maintenance', detail: error instanceof Error ? error.message : String(error) };
    }
  }

  /** The registered workflow (and engine) must exist, or every run would be refused at submit. */
  async function discover(): Promise<Catalog> {
    const versionUrl = await client.workflows(`/workflows/${encodeURIComponent(options.workflowId)}/versions/${encodeURIComponent(options.workflowVersionId)}`);
    let appVersion = `WDL ${workflowTypeVersion}`;
    if (versionUrl !== null) {
      const version = asRecord(await client.json(versionUrl, { context: 'workflow' }));
      appVersion = asString(version.versionName) ?? asString(version.version_name) ?? appVersion;
    }
    if (options.engineId) await client.json(await client.ewes(`/engines/${encodeURIComponent(options.engineId)}`), { context: 'engine' });
    return { ...catalog(), appVersion };
  }

  async function findByRunId(runId: string): Promise<string | null> {
    let url: string | null = `${await client.wes('/runs')}?${new URLSearchParams({ page_size: String(pageSize) }).toString()}`;
    const seen = new Set<string>();
    for (let page = 0; page < maxListPages && url !== null; page++) {
      seen.add(url);
      const body = asRecord(await client.json(url, { context: 'api' }));
      for (const item of asArray(body.runs)) {
        const r = asRecord(item);
        const id = asString(r.run_id);
        if (id && asRecord(r.tags)[RUN_ID_TAG] === runId) return id;
      }
      const next = asString(asRecord(body.pagination).next_page_url);
      if (next === null || next === '' || seen.has(next)) return null;
      // Our token goes only to eWES itself, whatever URL a page names.
      if (!(await client.isEwesUrl(next))) throw new BackendError('rejected', 'DNAstack: a run list page points away from eWES; refusing to follow it');
      url = next;
    }
    // Not all pages read: "not found" could make the broker submit twice.
    if (url !== null) throw new BackendError('unreachable', `DNAstack: run list longer than ${maxListPages} pages; cannot tell whether ${runId} exists`);
    return null;
  }

  async function submit(request: SubmitRequest): Promise<string> {
    checkSubmitRequest(request, 'https', sendsPassword);
    const body = {
      workflow_url: workflowUrl,
      workflow_type: 'WDL',
      workflow_type_version: workflowTypeVersion,
      workflow_params: workflowParams(request, template, 'https'),
      ...(options.engineId ? { workflow_engine_parameters: { engine_id: options.engineId } } : {}),
      tags: runTags({ workflowUrl, workflowType: 'WDL', workflowTypeVersion, ...(options.tags ? { tags: options.tags } : {}) }, request.runId),
    };
    const answer = asRecord(await client.json(await client.wes('/runs'), { method: 'POST', body: JSON.stringify(body), context: 'submit' }));
    const runId = asString(answer.run_id);
    if (runId !== null && runId !== '') return runId;
    const msg = asString(answer.msg);
    // MinimalExtendedRun carries a refusal as `{run_id: null, msg, error_code}` even on HTTP 200.
    if (msg) throw new BackendError('rejected', `DNAstack refused the run: ${msg}`, typeof answer.error_code === 'number' ? answer.error_code : null);
    throw new BackendError('unreachable', 'DNAstack POST /runs answered without a run_id');
  }

  async function readTasks(remoteId: string): Promise<WireLog[]> {
    const tasks: WireLog[] = [];
    let url: string | null = `${await runPath(remoteId, '/tasks')}?page_size=${pageSize}`;
    for (let page = 0; page < MAX_TASK_PAGES && url !== null; page++) {
      const body = asRecord(await client.json(url, { context: 'run' }));
      tasks.push(...asArray(body.tasks).map(readLog));
      const next = asString(asRecord(body.pagination).next_page_url);
      url = next && next !== url && (await client.isEwesUrl(next)) ? next : null;
    }
    return tasks;
  }

  async function getJob(remoteId: string): Promise<RemoteJob> {
    const run = readExtendedRun(await client.json(`${await runPath(remoteId)}?exclude_tasks=true`, { context: 'run' }));
    const tasks = run.taskLogs ?? (await readTasks(remoteId));
    return toRemoteJob(run, tasks, remoteId);
  }

  async function cancel(remoteId: string): Promise<void> {
    try {
      await client.text(await runPath(remoteId, '/cancel'), { method: 'POST', context: 'run', truncateAt: 4096 });
    } catch (error) {
      // eWES may refuse to cancel a run that already ended: that run is as canceled as it gets.
      if (error instanceof BackendError && (error.status === 400 || error.status === 409)) {
        const status = asString(asRecord(await client.json(await runPath(remoteId, '/status'), { context: 'run' })).state);
        if (TERMINAL_STATES.has(mapEwesState(status))) return;
      }
      throw error;
    }
  }

  async function download(output: RemoteOutput): Promise<Readable> {
    if (output.reference) {
      throw new BackendError(
        'rejected',
        `${output.name} is in ${output.reference.type} storage (${output.reference.url}) the broker cannot read; register it by reference`,
      );
    }
    return client.download(output.ref, output.name);
  }

  return {
    kind: 'dnastack',
    get tokensFetched() {
      return client.tokens.fetched;
    },
    health,
    discover,
    findByRunId,
    submit,
    getJob,
    cancel,
    download,
  };
}
