import { fail, redirect } from '@sveltejs/kit';
import { api, type Api } from '$lib/server/broker';
import { apiMessage } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { getRun } from '$lib/server/runs';
import { submitWithInputs } from '$lib/server/submit';
import { CSRF_FIELD } from '$lib/run-form';
import { drsObjectId, inputFiles, outputFiles, sameOriginPath, type OutputFile } from '$lib/runs';
import type { Actions, PageServerLoad } from './$types';

/** The QC report is shown inline up to this size; the whole file is always downloadable. */
const QC_REPORT_MAX = 256 * 1024;
const QC_REPORT = /(^|\/)qc_report\.txt$/;

async function qcReport(client: Api, files: OutputFile[]): Promise<{ name: string; text: string; truncated: boolean } | null> {
  const file = files.find((f) => QC_REPORT.test(f.name));
  if (!file) return null;
  const res = await fetch(`${client.base}${sameOriginPath(file.url)}`, {
    headers: { ...client.headers, accept: 'text/plain', range: `bytes=0-${QC_REPORT_MAX - 1}` },
  });
  if (!res.ok) return { name: file.name, text: `The report could not be read (${res.status}).`, truncated: false };
  return { name: file.name, text: await res.text(), truncated: file.size > QC_REPORT_MAX };
}

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const client = api(event);
  const [run, backends, routing] = await Promise.all([
    getRun(client, event.params.id, event.url),
    client.broker.GET('/api/v1/backends'),
    client.broker.GET('/api/v1/runs/{run_id}/routing', { params: { path: { run_id: event.params.id } } }),
  ]);
  const files = outputFiles(run);
  const bundleUri = (run.outputs as { drs_uri?: unknown } | undefined)?.drs_uri;
  // The run's results as one DRS bundle (expand=true lists what it holds).
  const bundle =
    typeof bundleUri === 'string' && drsObjectId(bundleUri)
      ? await client.drs.GET('/objects/{object_id}', { params: { path: { object_id: drsObjectId(bundleUri)! }, query: { expand: true } } })
      : null;
  return {
    run,
    files,
    inputs: inputFiles(run),
    routing: routing.data ?? null,
    bundle: bundle?.data ? { drs_uri: bundleUri as string, size: bundle.data.size, checksums: bundle.data.checksums, count: bundle.data.contents?.length ?? 0 } : null,
    backends: (backends.data?.backends ?? []).map((b) => ({ id: b.id, name: b.name, status: b.status, enabled: b.enabled })),
    qc: await qcReport(client, files),
    submitted: event.url.searchParams.has('submitted'),
    resubmitted: event.url.searchParams.get('resubmitted_from'),
  };
};

export const actions: Actions = {
  /** POST /runs/{id}/cancel with the form's CSRF token; works without JavaScript. */
  cancel: async (event) => {
    const form = await event.request.formData();
    const client = api(event);
    const res = await client.wes.POST('/runs/{run_id}/cancel', {
      params: { path: { run_id: event.params.id } },
      headers: { 'x-csrf-token': String(form.get(CSRF_FIELD) ?? '') },
    });
    if (!res.response.ok) return fail(res.response.status, { action: 'cancel' as const, message: apiMessage(res.error, res.response) });
    return { action: 'cancel' as const, message: 'Cancel requested: the broker is stopping the run on the imputation service.' };
  },
  /**
   * The same inputs (their drs:// URIs: nothing is uploaded again) and parameters as a new WES
   * run on the chosen backend; works without JavaScript.
   */
  resubmit: async (event) => {
    const form = await event.request.formData();
    const client = api(event);
    const run = await getRun(client, event.params.id, event.url);
    const backend = String(form.get('backend') ?? '').trim();
    if (!backend) return fail(400, { action: 'resubmit' as const, message: 'Choose the service to run it on.' });
    const inputs = inputFiles(run).map((f) => f.drs_uri);
    if (inputs.length === 0) return fail(400, { action: 'resubmit' as const, message: 'This run lists no inputs that can be sent again.' });
    const { files: _files, ...params } = (run.request?.workflow_params ?? {}) as Record<string, unknown>;
    const outcome = await submitWithInputs(client, { ...params, backend }, inputs, String(form.get(CSRF_FIELD) ?? ''));
    if (!outcome.ok) return fail(outcome.status, { action: 'resubmit' as const, message: outcome.message });
    redirect(303, `/runs/${encodeURIComponent(outcome.runId)}?submitted=1&resubmitted_from=${encodeURIComponent(event.params.id)}`);
  },
  /**
   * A short-lived signed link to one result (DRS access_id `signed`): for curl or wget on a
   * machine without the user's session.
   */
  link: async (event) => {
    const form = await event.request.formData();
    const id = String(form.get('object_id') ?? '');
    const client = api(event);
    const res = await client.drs.GET('/objects/{object_id}/access/{access_id}', { params: { path: { object_id: id, access_id: 'signed' } } });
    if (!res.data) return fail(res.response.status, { action: 'link' as const, object_id: id, message: apiMessage(res.error, res.response) });
    return { action: 'link' as const, object_id: id, url: res.data.url, name: String(form.get('name') ?? 'result') };
  },
  /** The result zips' password, shown on request only (never part of the page's data). */
  password: async (event) => {
    const client = api(event);
    const res = await client.broker.GET('/api/v1/runs/{run_id}/result-password', { params: { path: { run_id: event.params.id } } });
    if (!res.data) return fail(res.response.status, { action: 'password' as const, message: apiMessage(res.error, res.response) });
    return { action: 'password' as const, password: res.data.password };
  },
};
