import { api } from '$lib/server/broker';
import { ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { workflowDescriptor } from '$lib/server/catalog';
import { PARAM_FIELDS, workflowParams, type ParamValues } from '$lib/run-form';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const client = api(event);
  const [panels, backends, descriptor] = await Promise.all([
    client.broker.GET('/api/v1/panels', {}),
    client.broker.GET('/api/v1/backends'),
    workflowDescriptor(client.base, client.headers),
  ]);
  // After a refusal without JavaScript the form comes back with the broker's message and the choices made.
  const previous: ParamValues = {};
  for (const f of PARAM_FIELDS) {
    const v = event.url.searchParams.get(f);
    if (v) previous[f] = v;
  }
  // Where the run would go with the choices in the address (a recommendation's link, a refusal):
  // shown on the server too, so the form says it without JavaScript.
  let preview = null;
  if (previous.refpanel) {
    const { not_before: _nb, ...params } = workflowParams(previous);
    const res = await client.broker.POST('/api/v1/routes/preview', {
      body: { workflow_params: params },
      headers: { 'x-csrf-token': event.locals.session.csrf_token ?? '' },
    });
    preview = res.data ?? null;
  }
  return {
    preview,
    panels: ok(panels, event.url).panels,
    backends: ok(backends, event.url).backends,
    choices: {
      builds: descriptor.inputs.build?.values ?? ['hg19', 'hg38'],
      phasing: descriptor.inputs.phasing?.values ?? [],
      r2Filter: descriptor.inputs.r2Filter?.values ?? [],
      modes: descriptor.inputs.mode?.values ?? [],
    },
    error: event.url.searchParams.get('error'),
    previous,
  };
};
