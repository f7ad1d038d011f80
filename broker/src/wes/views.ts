/**
 * Stored runs as GA4GH WES 1.1 shapes. Times are ISO 8601 UTC without milliseconds, as the
 * spec's "%Y-%m-%dT%H:%M:%SZ" says.
 */
import type { Log, RunLog, RunRequest, RunStatus, RunSummary, TaskLog } from '@ibroker/api-spec/index';
import type { Run, StoredObject, StoredTask } from '../db/entities';
import { servable } from '../drs/reference';

export function wesTime(d: Date | string | null | undefined): string | undefined {
  if (!d) return undefined;
  const date = typeof d === 'string' ? new Date(d) : d;
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface Urls {
  /** Public base URL of the broker, no trailing slash. */
  base: string;
  /** Host (and port, when not 443) of the broker's `drs://` URIs. */
  drsHost: string;
}

export const wesBase = (u: Urls) => `${u.base}/ga4gh/wes/v1`;
export const outputUrl = (u: Urls, runId: string, fileId: string) => `${u.base}/api/v1/runs/${runId}/outputs/${fileId}`;
/**
 * Where an object's bytes stream from (bearer token, or a signed link's query). With its file
 * name as the last path segment when given: tools that name a download after its URL (workflow
 * engines, `wget`) then get `chr20.vcf.gz`, not `content`.
 */
export const contentUrl = (u: Urls, objectId: string, fileName?: string) =>
  `${u.base}/api/v1/objects/${objectId}/content${fileName ? `/${encodeURIComponent(fileName)}` : ''}`;
/** DRS hostname-based URI of one of the broker's objects. */
export const drsUri = (u: Urls, objectId: string) => `drs://${u.drsHost}/${objectId}`;

export function runStatus(run: Run): RunStatus {
  return { run_id: run.id, state: run.state };
}

export function runSummary(run: Run): RunSummary {
  const s: RunSummary = { run_id: run.id, state: run.state, tags: run.tags };
  const start = wesTime(run.startTime ?? run.submittedAt);
  const end = wesTime(run.endTime);
  if (start) s.start_time = start;
  if (end) s.end_time = end;
  return s;
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function taskLog(task: StoredTask, index: number): TaskLog {
  return compact({
    id: task.id,
    name: task.name,
    start_time: wesTime(task.startTime),
    end_time: wesTime(task.endTime),
    exit_code: task.state === 'COMPLETE' ? 0 : task.state === 'EXECUTOR_ERROR' ? 1 : undefined,
    system_logs: task.messages.map((m) => `${m.time ? `${wesTime(m.time)} ` : ''}[${m.level}] ${m.text}`),
    cmd: [`step ${index + 1}: ${task.name}`],
  });
}

/**
 * `RunLog.outputs`: the run's bundle as a `drs://` URI, and every result file with its checksums,
 * a download URL and its own `drs://` URI; the files opened out of a zip are listed under it. The
 * inputs are listed too (WES has no place of their own for them), by `drs://` URI, so the same
 * cohort can be sent to another backend without uploading it again.
 */
export function outputsOf(u: Urls, run: Run, objects: StoredObject[]): Record<string, unknown> {
  const outputs = objects.filter((f) => f.role === 'output');
  const inputs = objects
    .filter((f) => f.role === 'input')
    .map((f) => ({ name: f.name, size: f.size, sha256: f.sha256, md5: f.md5, drs_uri: drsUri(u, f.id) }));
  if (!outputs.length) return inputs.length ? { inputs } : {};
  const bundle = objects.find((f) => f.role === 'bundle' && f.parentId === null);
  const members = objects.filter((f) => f.role === 'member');
  const file = (f: StoredObject, url: string) => ({
    name: f.name,
    size: f.size,
    sha256: f.sha256,
    md5: f.md5,
    mime_type: f.mimeType,
    url,
    drs_uri: drsUri(u, f.id),
  });
  return {
    ...(bundle ? { drs_uri: drsUri(u, bundle.id) } : {}),
    files: outputs.map((f) => {
      if (f.referenceUrl !== null) {
        // Kept by the backend: where it is, and a DRS id only when a checksum makes it one.
        return {
          name: f.name,
          reference: { url: f.referenceUrl, type: f.referenceType },
          ...(f.size ? { size: f.size } : {}),
          ...(f.statedChecksums.length ? { checksums: f.statedChecksums } : {}),
          ...(servable(f) ? { drs_uri: drsUri(u, f.id) } : {}),
        };
      }
      const opened = members.filter((m) => m.sourceId === f.id);
      return {
        ...file(f, outputUrl(u, run.id, f.id)),
        ...(opened.length ? { extracted: opened.map((m) => file(m, contentUrl(u, m.id))) } : {}),
      };
    }),
    inputs,
  };
}

export function runLog(u: Urls, run: Run, objects: StoredObject[]): RunLog {
  const runLogEntry: Log = compact({
    name: 'imputation',
    cmd: [`imputationserver2 refpanel=${run.params.refpanel} population=${run.params.population} build=${run.params.build}`],
    start_time: wesTime(run.startTime ?? run.submittedAt),
    end_time: wesTime(run.endTime),
    exit_code: run.state === 'COMPLETE' ? 0 : run.state === 'EXECUTOR_ERROR' || run.state === 'SYSTEM_ERROR' ? 1 : undefined,
    system_logs: [...run.systemLogs, ...run.errors.map((e) => `error: ${e}`)],
  });
  return {
    run_id: run.id,
    request: run.request as RunRequest,
    state: run.state,
    run_log: runLogEntry,
    task_logs_url: `${wesBase(u)}/runs/${run.id}/tasks`,
    // Deprecated in 1.1 but still read by older clients; the list is short (4 steps).
    task_logs: run.tasks.map(taskLog),
    outputs: outputsOf(u, run, objects),
  };
}
