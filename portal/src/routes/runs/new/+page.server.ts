import { api } from '$lib/server/broker';
import { ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { workflowDescriptor } from '$lib/server/catalog';
import { PARAM_FIELDS, type ParamValues } from '$lib/run-form';
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
  return {
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
