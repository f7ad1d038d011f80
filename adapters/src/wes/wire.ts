/**
 * GA4GH WES JSON as nodes really send it, narrowed from `unknown`. WES 1.0 and 1.1 differ
 * (RunSummary, task_logs_url, system_logs), WESkit echoes form fields as JSON strings and answers
 * lists without tags, the starter kit cancels with `null`: every reader tolerates all of it.
 */
import { asArray, asIsoDate, asNumber, asRecord, asString, asStringMap, isRecord } from '../http/json';

export interface WireLog {
  id: string | null;
  name: string | null;
  cmd: string[];
  startTime: Date | null;
  endTime: Date | null;
  stdout: string | null;
  stderr: string | null;
  exitCode: number | null;
  systemLogs: string[];
  /** DNAstack's Log carries its own state; standard WES has none. */
  state: string | null;
}

export interface WireRunLog {
  runId: string;
  state: string | null;
  /** `request.tags`, parsed when the node echoes it as a JSON string (WESkit). */
  tags: Record<string, string>;
  workflowParams: Record<string, unknown>;
  runLog: WireLog | null;
  taskLogs: WireLog[] | null;
  taskLogsUrl: string | null;
  outputs: unknown;
}

export interface WireRunListItem {
  runId: string;
  state: string | null;
  /** Null when the node lists bare RunStatus (WES 1.0, WESkit): tags must be read from the RunLog. */
  tags: Record<string, string> | null;
  startTime: Date | null;
}

export interface WireRunList {
  runs: WireRunListItem[];
  nextPageToken: string | null;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return asArray(value).flatMap((v) => {
    const s = asString(v);
    return s === null ? [] : [s];
  });
}

export function readLog(body: unknown): WireLog {
  const log = asRecord(body);
  return {
    id: asString(log.id) ?? asString(log.task_id),
    name: asString(log.name) ?? asString(log.pretty_name),
    cmd: strings(log.cmd),
    startTime: asIsoDate(log.start_time),
    endTime: asIsoDate(log.end_time),
    stdout: asString(log.stdout),
    stderr: asString(log.stderr),
    exitCode: asNumber(log.exit_code),
    systemLogs: strings(log.system_logs),
    state: asString(log.state),
  };
}

function parsedObject(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    try {
      return asRecord(JSON.parse(value) as unknown);
    } catch {
      return {};
    }
  }
  return asRecord(value);
}

export function readRunLog(body: unknown): WireRunLog {
  const run = asRecord(body);
  const request = asRecord(run.request);
  const taskLogs = run.task_logs;
  return {
    runId: asString(run.run_id) ?? '',
    state: asString(run.state),
    tags: asStringMap(request.tags),
    workflowParams: parsedObject(request.workflow_params),
    runLog: isRecord(run.run_log) ? readLog(run.run_log) : null,
    taskLogs: Array.isArray(taskLogs) ? taskLogs.map(readLog) : null,
    taskLogsUrl: asString(run.task_logs_url),
    outputs: run.outputs,
  };
}

/** `RunListResponse`; WESkit's older versions answer a bare array, accepted too. */
export function readRunList(body: unknown): WireRunList {
  const list = Array.isArray(body) ? { runs: body } : asRecord(body);
  const runs = asArray(list.runs).flatMap((item) => {
    const r = asRecord(item);
    const runId = asString(r.run_id);
    if (runId === null || runId === '') return [];
    return [
      {
        runId,
        state: asString(r.state),
        tags: 'tags' in r ? asStringMap(r.tags) : null,
        startTime: asIsoDate(r.start_time),
      },
    ];
  });
  const token = asString(list.next_page_token);
  return { runs, nextPageToken: token === null || token === '' ? null : token };
}

/** `TaskListResponse {task_logs, next_page_token}`. */
export function readTaskPage(body: unknown): { tasks: WireLog[]; nextPageToken: string | null } {
  const page = asRecord(body);
  const token = asString(page.next_page_token);
  return {
    tasks: asArray(page.task_logs).map(readLog),
    nextPageToken: token === null || token === '' ? null : token,
  };
}

/** `RunStatus`; old WESkit answers the bare state string. */
export function readRunStatus(body: unknown): string | null {
  if (typeof body === 'string') return body;
  return asString(asRecord(body).state);
}
