import { api } from '$lib/server/broker';
import { ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const client = api(event);
  const q = event.url.searchParams;
  const build = q.get('build');
  const query = {
    ...(build === 'hg19' || build === 'hg38' ? { build: build as 'hg19' | 'hg38' } : {}),
    ...(q.get('population') ? { population: q.get('population')! } : {}),
    ...(q.get('backend') ? { backend: q.get('backend')! } : {}),
  };
  const [backends, panels] = await Promise.all([client.broker.GET('/api/v1/backends'), client.broker.GET('/api/v1/panels', { params: { query } })]);
  return { backends: ok(backends, event.url).backends, panels: ok(panels, event.url).panels, filter: { build: build ?? '', population: q.get('population') ?? '', backend: q.get('backend') ?? '' } };
};
