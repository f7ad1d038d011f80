/**
 * The GA4GH WES adapter: any WES 1.0/1.1 node running an imputation workflow. Configured per
 * node: WESkit-style eLwazi/ILIFU nodes, the GA4GH starter kit, and other copies of this broker
 * (federation of federations).
 */
import type { Readable } from 'node:stream';
import {
  type Adapter,
  BackendError,
  type Catalog,
  type HealthReport,
  type Panel,
  type RemoteJob,
  type RemoteOutput,
  type RemoteTask,
  type SubmitRequest,
} from '../types';
import { TERMINAL_STATES } from '../types';
import { asArray, asRecord, asString } from '../http/json';
import { configuredCatalog, parseBrokerPanels } from './catalog';
import { WesClient, type WesClientOptions } from './client';
import { RunFinder } from './find';
import { parseOutputs } from './outputs';
import {
  BROKER_PARAM_TEMPLATE,
  IS2_PARAM_TEMPLATE,
  templatePlaceholders,
  type InputMode,
  type ParamTemplate,
} from './params';
import { mapWesState } from './states';
import { buildRunForm, checkSubmitRequest, RUN_ID_TAG, totalBytes, type WorkflowSpec } from './submit';
import { failureReasons, runProgress, toTask } from './tasks';
import { readRunLog, readRunStatus, readTaskPage, type WireLog, type WireRunLog } from './wire';

export { classifyWes } from './errors';
export { mapWesState } from './states';
export { parseOutputs, referenceType } from './outputs';
export { IS2_PARAM_TEMPLATE, BROKER_PARAM_TEMPLATE, renderTemplate, PLACEHOLDERS } from './params';
export type { ParamTemplate, InputMode, TemplateValue } from './params';
export { RUN_ID_TAG } from './submit';
export { WesClient, DEFAULT_TIMEOUT_MS, DEFAULT_USER_AGENT } from './client';
export type { WesClientOptions } from './client';

/**
 * - `weskit`: WESkit (eLwazi/ILIFU): no `/tasks` route, lists without tags, NFL/SMK workflows.
 * - `standard`: a WES 1.1 node (GA4GH starter kit, Toil, Cromwell's WES...).
 * - `broker`: another copy of this broker; its panels are discovered from it.
 * Everything else is detected from what the node answers; the flavour only saves requests.
 */
export type WesFlavor = 'weskit' | 'standard' | 'broker';

export interface WesAdapterOptions extends WesClientOptions {
  flavor?: WesFlavor;
  /** What the node runs, e.g. `file:imputation/main.nf` (WESkit) or a TRS URL. Broker default: `<root>/workflows/imputation`. */
  workflowUrl?: string;
  /** e.g. `NFL` (WESkit), `NEXTFLOW` (starter kit), `CWL`, `WDL`. Broker default: `NFL`. */
  workflowType?: string;
  /** e.g. `22.10.0` (WESkit NFL), `DSL2` (broker default). */
  workflowTypeVersion?: string;
  workflowEngine?: string;
  workflowEngineVersion?: string;
  workflowEngineParameters?: Record<string, string>;
  /** Extra tags for every run; `${runId}` in a value is replaced (WESkit's `run_dir` must differ per run). */
  tags?: Record<string, string>;
  /** How ImputationParams become `workflow_params`; default: the imputationserver2 names. */
  paramTemplate?: ParamTemplate;
  /** How inputs reach the node: uploaded (`attachment`), fetched by URL (`https`) or by DRS URI (`drs`). */
  inputMode?: InputMode;
  /** The panels this node offers (WES has no panel discovery); for a `broker` the fallback. */
  panels?: Panel[];
  /** Other option lists of the node's workflow; default the imputationserver2 ones. */
  catalog?: { builds?: string[]; phasing?: string[]; r2Filter?: string[]; modes?: string[] };
  /** Where a `broker` node lists its panels; default `<root>/api/v1/panels`. */
  panelsUrl?: string;
  /** Slowest upload rate still considered alive; the submit deadline grows with the upload from it. */
  minUploadBytesPerSecond?: number;
  /** Upper bound on `GET /runs` pages read by `findByRunId`. */
  maxListPages?: number;
  /** RunLogs `findByRunId` may read per call on nodes whose list has no tags. */
  maxRunLogReads?: number;
  /** `page_size` asked for when listing runs and tasks. */
  pageSize?: number;
}

export interface WesAdapter extends Adapter {
  readonly kind: 'wes';
  readonly flavor: WesFlavor;
  readonly inputMode: InputMode;
}

const DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND = 256 * 1024;
const DEFAULT_MAX_LIST_PAGES = 100;
const DEFAULT_MAX_RUN_LOG_READS = 200;
const DEFAULT_PAGE_SIZE = 100;
const MAX_TASK_PAGES = 20;
/** Enough of a failed run's stderr to find why it died. */
const MAX_STDERR_BYTES = 64 * 1024;

/** Statuses that mean "this node has no `/runs/{id}/tasks`" (WES 1.0 and WESkit). */
const NO_TASKS_ROUTE = new Set([404, 405, 501]);

/** The broker's root from its WES base URL (`https://b.example.org/ga4gh/wes/v1` → `https://b.example.org`). */
function rootOf(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/ga4gh\/wes\/v1$/, '');
}

function specFor(options: WesAdapterOptions, flavor: WesFlavor): WorkflowSpec {
  const broker = flavor === 'broker';
  const workflowUrl = options.workflowUrl ?? (broker ? `${rootOf(options.baseUrl)}/workflows/imputation` : undefined);
  const workflowType = options.workflowType ?? (broker ? 'NFL' : undefined);
  const workflowTypeVersion = options.workflowTypeVersion ?? (broker ? 'DSL2' : undefined);
  if (!workflowUrl || !workflowType || !workflowTypeVersion) {
    throw new TypeError('WES adapter: workflowUrl, workflowType and workflowTypeVersion are required (which workflow the node runs is its configuration)');
  }
  return {
    workflowUrl,
    workflowType,
    workflowTypeVersion,
    ...(options.workflowEngine ? { workflowEngine: options.workflowEngine } : {}),
    ...(options.workflowEngineVersion ? { workflowEngineVersion: options.workflowEngineVersion } : {}),
    ...(options.workflowEngineParameters ? { workflowEngineParameters: options.workflowEngineParameters } : {}),
    ...(options.tags ? { tags: options.tags } : {}),
  };
}

export function createWesAdapter(options: WesAdapterOptions): WesAdapter {
  const flavor = options.flavor ?? 'standard';
  const client = new WesClient(options);
  const spec = specFor(options, flavor);
  const template = options.paramTemplate ?? (flavor === 'broker' ? BROKER_PARAM_TEMPLATE : IS2_PARAM_TEMPLATE);
  const sendsPassword = templatePlaceholders(template).has('password');
  const inputMode = options.inputMode ?? 'attachment';
  const panels = options.panels ?? [];
  if (flavor !== 'broker' && panels.length === 0) {
    throw new TypeError('WES adapter: panels are required; a WES node cannot say which reference panels its workflow offers');
  }
  const minUploadRate = options.minUploadBytesPerSecond ?? DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const finder = new RunFinder({
    get: (path, context) => client.json(path, { context }),
    pageSize,
    maxListPages: options.maxListPages ?? DEFAULT_MAX_LIST_PAGES,
    maxRunLogReads: options.maxRunLogReads ?? DEFAULT_MAX_RUN_LOG_READS,
  });
  /** Learned once: whether `/runs/{id}/tasks` exists; WESkit never has it. */
  let tasksRoute: boolean | null = flavor === 'weskit' ? false : null;

  const catalogOptions = {
    appId: spec.workflowUrl,
    appVersion: `${spec.workflowType} ${spec.workflowTypeVersion}`,
    ...options.catalog,
  };

  async function serviceInfo(): Promise<Record<string, unknown>> {
    return asRecord(await client.json('/service-info'));
  }

  /** The node's `workflow_type_versions` must list what we submit, or every run would be refused. */
  function checkWorkflowSupport(info: Record<string, unknown>): string | null {
    const versions = asRecord(info.workflow_type_versions);
    if (Object.keys(versions).length === 0) return null;
    const entry = Object.entries(versions).find(([type]) => type.toUpperCase() === spec.workflowType.toUpperCase())?.[1];
    if (entry === undefined) {
      return `the node runs ${Object.keys(versions).join(', ')}, not ${spec.workflowType}`;
    }
    const listed = asArray(asRecord(entry).workflow_type_version).map(asString);
    if (listed.length > 0 && !listed.includes(spec.workflowTypeVersion)) {
      return `the node runs ${spec.workflowType} ${listed.join(', ')}, not ${spec.workflowTypeVersion}`;
    }
    return null;
  }

  async function health(): Promise<HealthReport> {
    const started = performance.now();
    const latency = (): number => Math.round(performance.now() - started);
    try {
      const info = await serviceInfo();
      const latencyMs = latency();
      const problem = checkWorkflowSupport(info);
      if (problem !== null) return { ok: false, latencyMs, maintenance: false, detail: `${client.http.label}: ${problem}` };
      // service-info is public on most nodes: only a run listing shows that our token is accepted.
      await client.json('/runs?page_size=1');
      const versions = asArray(info.supported_wes_versions).map(asString).filter((v): v is string => v !== null);
      return {
        ok: true,
        latencyMs,
        maintenance: false,
        detail: `${client.http.label}: WES ${versions.join('/') || '?'}, ${spec.workflowType} ${spec.workflowTypeVersion}`,
      };
    } catch (error) {
      const kind = error instanceof BackendError ? error.kind : 'unreachable';
      const detail = error instanceof Error ? error.message : String(error);
      return { ok: false, latencyMs: latency(), maintenance: kind === 'maintenance', detail };
    }
  }

  async function discover(): Promise<Catalog> {
    if (flavor === 'broker') {
      const url = options.panelsUrl ?? `${rootOf(options.baseUrl)}/api/v1/panels`;
      try {
        const discovered = parseBrokerPanels(await client.jsonAt(url));
        if (discovered.length > 0) return configuredCatalog({ ...catalogOptions, panels: discovered });
        if (panels.length === 0) return configuredCatalog({ ...catalogOptions, panels: [] });
      } catch (error) {
        // The configured panels stand in while the remote broker cannot say; without any, say why.
        if (panels.length === 0) throw error;
      }
      return configuredCatalog({ ...catalogOptions, panels });
    }
    const problem = checkWorkflowSupport(await serviceInfo());
    if (problem !== null) throw new BackendError('rejected', `${client.http.label} cannot run this workflow: ${problem}`);
    return configuredCatalog({ ...catalogOptions, panels });
  }

  async function findByRunId(runId: string): Promise<string | null> {
    return finder.find(runId);
  }

  async function submit(request: SubmitRequest): Promise<string> {
    checkSubmitRequest(request, inputMode, sendsPassword);
    const form = await buildRunForm(request, spec, template, inputMode);
    const timeoutMs = client.timeoutMs + Math.ceil((1000 * totalBytes(request, inputMode)) / minUploadRate);
    const answer = await client.json('/runs', { method: 'POST', body: form, context: 'submit', timeoutMs });
    const runId = asString(asRecord(answer).run_id);
    if (runId === null || runId === '') {
      // The node may have created the run all the same: look it up rather than submit again.
      throw new BackendError('unreachable', `${client.http.label} POST /runs answered without a run_id`);
    }
    finder.remember(runId, request.runId);
    return runId;
  }

  async function readTasks(remoteId: string, run: WireRunLog): Promise<WireLog[]> {
    if (tasksRoute !== false) {
      const first = run.taskLogsUrl !== null && client.isNodeUrl(run.taskLogsUrl) ? run.taskLogsUrl : client.url(`/runs/${encodeURIComponent(remoteId)}/tasks`);
      try {
        const tasks: WireLog[] = [];
        let token: string | null = null;
        for (let page = 0; page < MAX_TASK_PAGES; page++) {
          const url = new URL(first);
          url.searchParams.set('page_size', String(pageSize));
          if (token !== null) url.searchParams.set('page_token', token);
          const parsed = readTaskPage(await client.jsonAt(url.href, { context: 'tasks' }));
          tasks.push(...parsed.tasks);
          if (parsed.nextPageToken === null || parsed.nextPageToken === token) break;
          token = parsed.nextPageToken;
        }
        tasksRoute = true;
        return tasks;
      } catch (error) {
        if (!(error instanceof BackendError) || error.status === null || !NO_TASKS_ROUTE.has(error.status)) throw error;
        // Only a node that never had the route forgets it: one that answered before is having a bad moment.
        if (tasksRoute === true) throw error;
        tasksRoute = false;
      }
    }
    return run.taskLogs ?? [];
  }

  /** The first lines of a failed run's stderr, when the node serves it at a URL of its own. */
  async function stderrOf(run: WireRunLog): Promise<string | null> {
    const stderr = run.runLog?.stderr;
    if (!stderr || !/^https?:\/\//i.test(stderr) || !client.isNodeUrl(stderr)) return null;
    try {
      return await client.textAt(stderr, { truncateAt: MAX_STDERR_BYTES, context: 'run' });
    } catch {
      return null;
    }
  }

  async function getJob(remoteId: string): Promise<RemoteJob> {
    const run = readRunLog(await client.json(`/runs/${encodeURIComponent(remoteId)}`, { context: 'run' }));
    const state = mapWesState(run.state);
    const logs = await readTasks(remoteId, run);
    const tasks: RemoteTask[] = logs.map((log, i) => toTask(log, i, state));
    const failed = state === 'EXECUTOR_ERROR' || state === 'SYSTEM_ERROR';
    const outputs = state === 'COMPLETE' || failed ? parseOutputs(run.outputs) : [];
    const starts = [run.runLog?.startTime, ...tasks.map((t) => t.startTime)].filter((d): d is Date => d instanceof Date);
    const firstStart = starts.length > 0 ? new Date(Math.min(...starts.map((d) => d.getTime()))) : null;
    return {
      remoteId: run.runId || remoteId,
      name: run.tags[RUN_ID_TAG] ?? run.runId ?? remoteId,
      state,
      rawState: run.state ?? 'null',
      submittedAt: null,
      startTime: run.runLog?.startTime ?? firstStart,
      endTime: TERMINAL_STATES.has(state) ? (run.runLog?.endTime ?? null) : null,
      queuePosition: null,
      progress: runProgress(state, tasks),
      tasks,
      outputs,
      resultsGone: false,
      errors: failed ? failureReasons(run, tasks, await stderrOf(run)) : [],
    };
  }

  async function cancel(remoteId: string): Promise<void> {
    try {
      // The answer is `RunId`, `{run_id, state}` or, from the starter kit, `null`: nothing to read.
      await client.text(`/runs/${encodeURIComponent(remoteId)}/cancel`, { method: 'POST', context: 'run', truncateAt: 4096 });
    } catch (error) {
      // Some nodes refuse to cancel what already ended (400/409): that is the outcome we wanted.
      if (error instanceof BackendError && (error.status === 400 || error.status === 409)) {
        const status = mapWesState(readRunStatus(await client.json(`/runs/${encodeURIComponent(remoteId)}/status`, { context: 'run' })));
        if (TERMINAL_STATES.has(status)) return;
      }
      throw error;
    }
  }

  async function download(output: RemoteOutput): Promise<Readable> {
    if (output.reference) {
      throw new BackendError(
        'rejected',
        `${output.name} is stored at ${output.reference.type === 'file' ? 'a path on the node' : `a ${output.reference.type} location`} (${output.reference.url}) the broker cannot read; register it by reference`,
      );
    }
    return client.download(output.ref, output.name);
  }

  return { kind: 'wes', flavor, inputMode, health, discover, findByRunId, submit, getJob, cancel, download };
}

