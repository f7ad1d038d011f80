/**
 * POST /runs/new/submit (JSON, from the enhanced new-run form): the run, once every file has been
 * uploaded through POST /api/v1/uploads and passed its pre-flight check. Answers `{run_id}` or
 * the broker's `{msg, status_code}`.
 */
import { json } from '@sveltejs/kit';
import { api } from '$lib/server/broker';
import { apiMessage } from '$lib/server/errors';
import { submitWithInputs } from '$lib/server/submit';
import { workflowParams, type ParamValues } from '$lib/run-form';
import type { RequestHandler } from './$types';

interface Body {
  params?: ParamValues;
  files?: unknown;
  csrf?: unknown;
  /** One run per file, as a batch (POST /api/v1/batches). */
  batch?: { name?: unknown };
}

export const POST: RequestHandler = async (event) => {
  if (!event.locals.session.authenticated) return json({ msg: 'Your session has ended: sign in again, then resubmit.', status_code: 401 }, { status: 401 });
  const body = (await event.request.json().catch(() => null)) as Body | null;
  if (!body || !Array.isArray(body.files) || !body.files.every((f) => typeof f === 'string')) {
    return json({ msg: 'Send {params, files: [drs:// URIs], csrf}.', status_code: 400 }, { status: 400 });
  }
  const params = workflowParams(Object.fromEntries(Object.entries(body.params ?? {}).filter(([, v]) => typeof v === 'string')) as ParamValues);
  const csrf = typeof body.csrf === 'string' ? body.csrf : '';
  if (body.batch) {
    const name = typeof body.batch.name === 'string' && body.batch.name.trim() ? body.batch.name.trim().slice(0, 200) : undefined;
    const res = await api(event).broker.POST('/api/v1/batches', {
      body: { ...(name ? { name } : {}), runs: (body.files as string[]).map((f) => ({ workflow_params: { ...params, files: [f] } })) },
      headers: { 'x-csrf-token': csrf },
    });
    if (res.data) return json({ batch_id: res.data.batch_id, run_ids: res.data.run_ids });
    return json({ msg: apiMessage(res.error, res.response), status_code: res.response.status }, { status: res.response.status });
  }
  const outcome = await submitWithInputs(api(event), params, body.files as string[], csrf);
  if (outcome.ok) return json({ run_id: outcome.runId });
  return json({ msg: outcome.message, status_code: outcome.status }, { status: outcome.status });
};
