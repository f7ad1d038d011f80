import { fail } from '@sveltejs/kit';
import { api, type Api } from '$lib/server/broker';
import { apiMessage } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { getRun } from '$lib/server/runs';
import { CSRF_FIELD } from '$lib/run-form';
import { outputFiles, sameOriginPath, type OutputFile } from '$lib/runs';
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
  const run = await getRun(client, event.params.id, event.url);
  const files = outputFiles(run);
  return { run, files, qc: await qcReport(client, files), submitted: event.url.searchParams.has('submitted') };
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
  /** The result zips' password, shown on request only (never part of the page's data). */
  password: async (event) => {
    const client = api(event);
    const res = await client.broker.GET('/api/v1/runs/{run_id}/result-password', { params: { path: { run_id: event.params.id } } });
    if (!res.data) return fail(res.response.status, { action: 'password' as const, message: apiMessage(res.error, res.response) });
    return { action: 'password' as const, password: res.data.password };
  },
};
