/**
 * The JSON a WES node answers, per flavour: WESkit's (fixtures `shared/backends/wes/examples/
 * weskit-*.json`, WESkit `api/Helper.py#run_log`) and WES 1.1's (RunLog, RunSummary, TaskLog).
 */
import type { WesState } from '../../types';
import type { WorkflowStep } from '../../sim/workflow';
import type { SignedStore } from '../../sim/storage';
import type { SimRun, WesFlavorName } from './types';

const ALL_STATES: WesState[] = [
  'UNKNOWN', 'QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'CANCELING', 'PREEMPTED',
];

/** WES "%Y-%m-%dT%H:%M:%SZ". */
export function wesTime(ms: number | null): string | undefined {
  return ms === null ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface ViewContext {
  flavor: WesFlavorName;
  /** `http://host:port` as the client reached us. */
  origin: string;
  store: SignedStore;
  presignTtlSeconds: number;
  outputStyle: 'map' | 'broker';
  s3Outputs: boolean;
}

const base = (v: ViewContext): string => `${v.origin}/ga4gh/wes/v1`;

export function serviceInfo(flavor: WesFlavorName, origin: string, types: Record<string, string[]>, runs: Iterable<SimRun>): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const s of flavor === 'weskit' ? ALL_STATES.filter((x) => x !== 'UNKNOWN' && x !== 'PREEMPTED') : ALL_STATES) counts[s] = 0;
  for (const r of runs) counts[r.state] = (counts[r.state] ?? 0) + 1;
  const workflowTypeVersions = Object.fromEntries(Object.entries(types).map(([t, v]) => [t, { workflow_type_version: v }]));
  if (flavor === 'weskit') {
    return {
      contact_info_url: 'mailto:your@email.de',
      workflow_type_versions: workflowTypeVersions,
      supported_wes_versions: ['1.0.0'],
      supported_filesystem_protocols: ['file', 'S3'],
      workflow_engine_versions: Object.fromEntries(Object.entries(types).map(([t, v]) => [t, v[0] ?? ''])),
      default_workflow_engine_parameters: [
        { name: 'NFL|22.10.0|job-name', default_value: null, type: 'Optional[str]' },
        { name: 'NFL|22.10.0|trace', default_value: 'true', type: 'bool' },
        { name: 'SMK|6.10.0|max-memory', default_value: '100m', type: 'Optional[str validFor Python.memory_units.Memory.from_str]' },
      ],
      system_state_counts: counts,
      auth_instructions_url: 'https://somewhere.org',
      tags: {},
    };
  }
  return {
    id: 'org.example.wes-simulator',
    name: 'WES node (simulator)',
    type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
    description: 'A GA4GH WES 1.1 node running an imputation workflow (simulated)',
    organization: { name: 'Imputation broker test federation', url: origin },
    version: '1.1.0',
    workflow_type_versions: workflowTypeVersions,
    supported_wes_versions: ['1.0.0', '1.1.0'],
    supported_filesystem_protocols: ['http', 'https', 'drs'],
    workflow_engine_versions: { nextflow: { workflow_engine_version: ['23.10.0'] } },
    default_workflow_engine_parameters: [],
    system_state_counts: counts,
    auth_instructions_url: `${origin}/auth`,
    tags: {},
  };
}

function taskLog(run: SimRun, step: WorkflowStep, index: number, v: ViewContext): Record<string, unknown> {
  const log: Record<string, unknown> = { id: `${run.id.slice(0, 8)}-${index + 1}`, name: step.name };
  const start = wesTime(step.startTime);
  const end = wesTime(step.endTime);
  if (start) log.start_time = start;
  if (end) log.end_time = end;
  if (step.exitCode !== null) log.exit_code = step.exitCode;
  log.cmd = [step.name.toLowerCase()];
  log.system_logs = [...step.log];
  log.stdout = `${base(v)}/runs/${run.id}/logs/stdout`;
  log.stderr = `${base(v)}/runs/${run.id}/logs/stderr`;
  return log;
}

export function taskLogs(run: SimRun, v: ViewContext): Record<string, unknown>[] {
  return run.steps.map((s, i) => taskLog(run, s, i, v));
}

function outputsOf(run: SimRun, v: ViewContext): Record<string, unknown> {
  if (run.outputs.length === 0) return {};
  if (v.flavor === 'weskit') {
    const filesystem = run.outputs.map((o) => o.name);
    if (!v.s3Outputs) return { filesystem };
    const S3 = run.outputs.map((o) => {
      const path = `/s3/weskit-results/${run.id}/${o.name}`;
      return `${v.origin}${path}?${v.store.sign(path, v.presignTtlSeconds)}`;
    });
    return { filesystem, S3 };
  }
  const url = (name: string): string => `${base(v)}/runs/${run.id}/outputs/${name.split('/').map(encodeURIComponent).join('/')}`;
  if (v.outputStyle === 'broker') {
    return {
      files: run.outputs.map((o) => ({
        name: o.name,
        size: o.size,
        sha256: o.sha256,
        md5: o.md5,
        mime_type: o.name.endsWith('.gz') ? 'application/gzip' : 'text/plain',
        url: url(o.name),
      })),
    };
  }
  return Object.fromEntries(run.outputs.map((o) => [o.name.replace(/^results\//, ''), url(o.name)]));
}

export function runLog(run: SimRun, v: ViewContext): Record<string, unknown> {
  if (v.flavor === 'weskit') {
    const dir = `.weskit/${run.logStamp}`;
    return {
      run_id: run.id,
      // WESkit stores the form as received: every value a string.
      request: { ...run.fields },
      state: run.state,
      run_log: {
        name: run.fields.workflow_url ?? '',
        cmd: ['nextflow', 'run', (run.fields.workflow_url ?? '').replace(/^file:/, ''), '-params-file', `${dir}/params.json`],
        start_time: wesTime(run.startTime) ?? null,
        end_time: wesTime(run.endTime) ?? null,
        stdout: `${dir}/stdout`,
        stderr: `${dir}/stderr`,
        exit_code: run.exitCode,
      },
      task_logs: [],
      outputs: outputsOf(run, v),
      user_id: run.user,
    };
  }
  const request: Record<string, unknown> = {
    workflow_url: run.fields.workflow_url,
    workflow_type: run.fields.workflow_type,
    workflow_type_version: run.fields.workflow_type_version,
    workflow_params: run.workflowParams,
    tags: run.tags,
  };
  if (Object.keys(run.engineParameters).length > 0) request.workflow_engine_parameters = run.engineParameters;
  if (run.fields.workflow_engine) request.workflow_engine = run.fields.workflow_engine;
  const log: Record<string, unknown> = {
    name: run.fields.workflow_url,
    cmd: ['nextflow', 'run', run.fields.workflow_url ?? ''],
    stdout: `${base(v)}/runs/${run.id}/logs/stdout`,
    stderr: `${base(v)}/runs/${run.id}/logs/stderr`,
    system_logs: [...run.systemLogs],
  };
  const start = wesTime(run.startTime);
  const end = wesTime(run.endTime);
  if (start) log.start_time = start;
  if (end) log.end_time = end;
  if (run.exitCode !== null) log.exit_code = run.exitCode;
  return {
    run_id: run.id,
    request,
    state: run.state,
    run_log: log,
    task_logs_url: `${base(v)}/runs/${run.id}/tasks`,
    // Deprecated in WES 1.1; this node leaves it to the task list.
    task_logs: null,
    outputs: outputsOf(run, v),
  };
}

export function runSummary(run: SimRun): Record<string, unknown> {
  const s: Record<string, unknown> = { run_id: run.id, state: run.state, tags: run.tags };
  const start = wesTime(run.startTime ?? run.createdAt);
  const end = wesTime(run.endTime);
  if (start) s.start_time = start;
  if (end) s.end_time = end;
  return s;
}

/** WESkit renders its validation errors as a Python list: `['a', "b's"]`. */
export function pythonList(items: string[]): string {
  const repr = (s: string): string => {
    const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
    const escaped = s.replace(/\\/g, '\\\\').split(quote).join(`\\${quote}`);
    return `${quote}${escaped}${quote}`;
  };
  return `[${items.map(repr).join(', ')}]`;
}
