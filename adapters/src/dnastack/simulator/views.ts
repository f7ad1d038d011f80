/**
 * eWES JSON as DNAstack serves it (fixtures `shared/backends/dnastack/examples/*.json`, DNA
 * `client/workbench/ewes/models.py`): ExtendedRun, ExtendedRunStatus, Log, engines, errors.
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowStep } from '../../sim/workflow';
import type { SignedStore } from '../../sim/storage';
import type { DnaRun, SimEngine, SimOutput } from './types';

export const BUCKET = 'sim-bucket';

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `WorkbenchApiError`. */
export function workbenchError(status: number, msg: string, now: number): Record<string, unknown> {
  return { timestamp: new Date(now).toISOString(), msg, error_code: status, trace_id: randomBytes(8).toString('hex') };
}

const STEP_STATE: Record<WorkflowStep['state'], string> = {
  QUEUED: 'QUEUED',
  RUNNING: 'RUNNING',
  COMPLETE: 'COMPLETE',
  FAILED: 'EXECUTOR_ERROR',
  CANCELED: 'CANCELED',
};

export function taskLog(run: DnaRun, step: WorkflowStep): Record<string, unknown> {
  return {
    task_id: `${step.name}.0`,
    name: step.name,
    pretty_name: step.name.split('.').pop() ?? step.name,
    cmd: null,
    start_time: iso(step.startTime),
    end_time: iso(step.endTime),
    stdout: null,
    stderr: null,
    exit_code: step.exitCode,
    state: STEP_STATE[step.state],
  };
}

export interface OutputContext {
  origin: string;
  store: SignedStore;
  ttlSeconds: number;
  gs: boolean;
}

export function objectPath(run: DnaRun, name: string): string {
  return `/storage/${BUCKET}/${run.namespace}/${run.id}/${name}`;
}

function outputKey(o: SimOutput): string {
  if (o.name.endsWith('.dose.vcf.gz')) return 'imputation.imputed_vcfs';
  if (o.name.endsWith('.info.gz')) return 'imputation.info_files';
  if (o.name === 'qc_report.txt') return 'imputation.qc_report';
  if (o.name.startsWith('statistics/')) return 'imputation.statistics';
  return 'imputation.other_files';
}

/** Free-form `outputs`: WDL output name → bucket location (single value or list), as Cromwell reports them. */
export function outputsOf(run: DnaRun, c: OutputContext): Record<string, unknown> | null {
  if (run.outputs.length === 0) return null;
  const location = (o: SimOutput): string => {
    if (c.gs) return `gs://${BUCKET}/${run.namespace}/${run.id}/${o.name}`;
    const path = objectPath(run, o.name);
    return `${c.origin}${path}?${c.store.sign(path, c.ttlSeconds)}`;
  };
  const out: Record<string, unknown> = {};
  for (const o of run.outputs) {
    const key = outputKey(o);
    if (key === 'imputation.qc_report') out[key] = location(o);
    else out[key] = [...((out[key] as string[] | undefined) ?? []), location(o)];
  }
  return out;
}

export function extendedRun(run: DnaRun, ewesBase: string, c: OutputContext, includeTasks: boolean): Record<string, unknown> {
  const ended = ['COMPLETE', 'COMPLETE_WITH_ERRORS', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREPROCESSING_ERROR'].includes(run.state);
  return {
    run_id: run.id,
    external_id: run.startTime === null ? null : run.externalId,
    engine_id: run.engineId,
    request: run.request,
    state: run.state,
    run_log: {
      task_id: null,
      name: run.workflow.name,
      pretty_name: null,
      cmd: null,
      start_time: iso(run.startTime ?? run.createdAt),
      end_time: iso(run.endTime),
      stdout: `${ewesBase}/runs/${run.id}/logs/stdout`,
      stderr: `${ewesBase}/runs/${run.id}/logs/stderr`,
      exit_code: ended ? (run.state === 'COMPLETE' ? 0 : 1) : null,
      state: run.state,
    },
    errors: run.errors.length > 0 ? [...run.errors] : null,
    task_logs: includeTasks ? run.steps.map((s) => taskLog(run, s)) : null,
    task_logs_url: `${ewesBase}/runs/${run.id}/tasks`,
    outputs: outputsOf(run, c),
    dependencies: null,
    events: run.events,
  };
}

/** `ExtendedRunStatus`, an entry of the run list. */
export function runStatus(run: DnaRun): Record<string, unknown> {
  return {
    run_id: run.id,
    external_id: run.startTime === null ? null : run.externalId,
    state: run.state,
    start_time: iso(run.startTime ?? run.createdAt),
    end_time: iso(run.endTime),
    submitted_by: run.submittedBy,
    workflow_id: run.workflow.id,
    workflow_version_id: run.workflow.versionId,
    workflow_url: `${run.workflow.id}/${run.workflow.versionId}`,
    workflow_name: run.workflow.name,
    workflow_version: run.workflow.versionName,
    workflow_type: 'WDL',
    workflow_type_version: run.request.workflow_type_version ?? null,
    workflow_params: null,
    tags: run.tags,
    workflow_engine_parameters: null,
    samples: null,
    hooks: null,
  };
}

export function engineView(e: SimEngine): Record<string, unknown> {
  return {
    id: e.id,
    name: e.name,
    description: null,
    provider: e.provider,
    region: e.region,
    default: e.default,
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
    state: 'ACTIVE',
    engine_adapter_configuration: {},
  };
}

export function serviceInfo(origin: string, counts: Record<string, number>): Record<string, unknown> {
  return {
    id: 'ewes-service',
    name: 'Workbench eWES',
    type: { group: 'com.dnastack.workbench', artifact: 'ewes-service', version: '1.0.0' },
    url: `${origin}/services/ewes-service/`,
    description: null,
    organization: { name: 'DNAstack Workbench (simulator)', url: origin },
    contactUrl: null,
    documentationUrl: null,
    createdAt: null,
    updatedAt: null,
    environment: 'simulator',
    version: '1.0.0',
    workflow_type_versions: { WDL: { workflow_type_version: ['draft-2', '1.0'] } },
    supported_wes_versions: ['1.0.0'],
    supported_filesystem_protocols: ['gs', 's3', 'https'],
    workflow_engine_versions: { cromwell: '87' },
    default_workflow_engine_parameters: [],
    system_state_counts: counts,
    auth_instructions_url: null,
    tags: {},
  };
}
