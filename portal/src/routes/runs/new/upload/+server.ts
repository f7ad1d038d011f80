/**
 * POST /runs/new/upload: the new-run form's target, with or without JavaScript. A plain form post
 * is answered with a redirect (the run's page, or the form again with the broker's message); the
 * enhanced form (XHR, for upload progress) asks for JSON and gets `{run_id}` or `{msg, status_code}`.
 */
import { json, redirect } from '@sveltejs/kit';
import { api, brokerUrl } from '$lib/server/broker';
import { loginUrl } from '$lib/server/errors';
import { streamRunUpload } from '$lib/server/upload';
import { paramsQuery } from '$lib/run-form';
import { workflowDescriptor } from '$lib/server/catalog';
import type { RequestHandler } from './$types';

const wantsJson = (request: Request) => (request.headers.get('accept') ?? '').includes('application/json');

export const POST: RequestHandler = async (event) => {
  const { request, locals } = event;
  if (!locals.session.authenticated) {
    if (wantsJson(request)) return json({ msg: 'Your session has ended: sign in again, then resubmit.', status_code: 401 }, { status: 401 });
    redirect(303, loginUrl('/runs/new'));
  }
  const client = api(event);
  const descriptor = await workflowDescriptor(client.base, client.headers);
  const outcome = await streamRunUpload(request, {
    base: brokerUrl(),
    headers: client.headers,
    workflowUrl: descriptor.workflow_url,
    workflowType: descriptor.workflow_type,
    workflowTypeVersion: descriptor.workflow_type_version,
  });
  if (outcome.kind === 'submitted') {
    if (wantsJson(request)) return json({ run_id: outcome.runId });
    redirect(303, `/runs/${encodeURIComponent(outcome.runId)}?submitted=1`);
  }
  if (wantsJson(request)) return json({ msg: outcome.message, status_code: outcome.status }, { status: outcome.status });
  redirect(303, `/runs/new?${paramsQuery(outcome.fields, outcome.message)}`);
};
