/**
 * A WES run whose inputs are already on the broker (uploads, or a previous run's inputs): `POST
 * /ga4gh/wes/v1/runs` with no attachment and `workflow_params.files` listing the `drs://` URIs.
 * Used by the enhanced new-run form (after each file was uploaded and checked on its own) and by
 * "run again on another service" on a run's page.
 */
import type { Api } from './broker';
import { apiMessage } from './errors';
import { workflowDescriptor } from './catalog';

export type SubmitOutcome = { ok: true; runId: string } | { ok: false; status: number; message: string };

const DRS_URI = /^drs:\/\/[^\s/]+\/[^\s]+$/;

export function isDrsUri(s: string): boolean {
  return DRS_URI.test(s) && s.length <= 1024;
}

export async function submitWithInputs(client: Api, params: Record<string, unknown>, files: readonly string[], csrf: string): Promise<SubmitOutcome> {
  if (files.length === 0) return { ok: false, status: 400, message: 'No input files: upload at least one bgzipped VCF.' };
  const bad = files.find((f) => !isDrsUri(f));
  if (bad !== undefined) return { ok: false, status: 400, message: `Not a drs:// URI: ${bad.slice(0, 200)}` };
  const descriptor = await workflowDescriptor(client.base, client.headers);
  const form = new FormData();
  form.set('workflow_type', descriptor.workflow_type);
  form.set('workflow_type_version', descriptor.workflow_type_version);
  form.set('workflow_url', descriptor.workflow_url);
  form.set('workflow_params', JSON.stringify({ ...params, files }));
  const { accept: _accept, ...headers } = client.headers;
  const res = await fetch(`${client.base}/ga4gh/wes/v1/runs`, { method: 'POST', headers: { ...headers, accept: 'application/json', 'x-csrf-token': csrf }, body: form });
  const body = (await res.json().catch(() => null)) as { run_id?: string } | null;
  if (res.ok && typeof body?.run_id === 'string') return { ok: true, runId: body.run_id };
  return { ok: false, status: res.status >= 400 ? res.status : 502, message: apiMessage(body, res) };
}
