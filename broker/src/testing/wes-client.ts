/** A minimal WES client for tests: what any WES client does, over real HTTP. */
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import type { RunLog } from '@ibroker/api-spec/index';

export interface SubmitOptions {
  files?: string[];
  /** Attachment names to use instead of the file names. */
  names?: string[];
  params?: Record<string, unknown>;
  fields?: Record<string, string>;
  workflowUrl?: string;
}

export async function submit(baseUrl: string, token: string, o: SubmitOptions): Promise<Response> {
  const form = new FormData();
  form.set('workflow_type', 'NFL');
  form.set('workflow_type_version', 'DSL2');
  form.set('workflow_url', o.workflowUrl ?? `${baseUrl}/workflows/imputation`);
  form.set('workflow_params', JSON.stringify(o.params ?? {}));
  for (const [k, v] of Object.entries(o.fields ?? {})) form.set(k, v);
  for (const [i, f] of (o.files ?? []).entries()) {
    form.append('workflow_attachment', await openAsBlob(f), o.names?.[i] ?? basename(f));
  }
  return fetch(`${baseUrl}/ga4gh/wes/v1/runs`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
}

export async function getJson<T>(url: string, token: string): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

export async function waitForState(
  baseUrl: string,
  token: string,
  runId: string,
  done: (log: RunLog) => boolean,
  timeoutMs = 60_000,
): Promise<RunLog> {
  const until = Date.now() + timeoutMs;
  let last: RunLog | undefined;
  while (Date.now() < until) {
    const { body } = await getJson<RunLog>(`${baseUrl}/ga4gh/wes/v1/runs/${runId}`, token);
    last = body;
    if (done(body)) return body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`run ${runId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last?.state)} ${JSON.stringify(last?.run_log?.system_logs)}`);
}

export const terminal = (log: RunLog) =>
  ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED'].includes(log.state ?? '');
