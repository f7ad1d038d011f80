import { api } from '$lib/server/broker';
import { apiMessage, ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import type { PageServerLoad } from './$types';

const ANCESTRIES = ['AFR', 'AMR', 'EAS', 'EUR', 'SAS', 'mixed', 'unknown'] as const;
type Ancestry = (typeof ANCESTRIES)[number];

/** Probes shown in each backend's history chart. */
const HISTORY = 60;

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
  const ancestry = ANCESTRIES.find((a) => a.toLowerCase() === (q.get('ancestry') ?? '').toLowerCase()) ?? null;
  const rbuild = q.get('rbuild') === 'hg19' ? 'hg19' : 'hg38';
  const [backends, panels, recommendation] = await Promise.all([
    client.broker.GET('/api/v1/backends'),
    client.broker.GET('/api/v1/panels', { params: { query } }),
    ancestry ? client.broker.GET('/api/v1/panels/recommendation', { params: { query: { ancestry: ancestry as Ancestry, build: rbuild } } }) : null,
  ]);
  const list = ok(backends, event.url).backends;
  // Location, limits and the probe history of each backend (two small calls each).
  const details = await Promise.all(
    list.map(async (b) => {
      const [detail, health] = await Promise.all([
        client.broker.GET('/api/v1/backends/{id}', { params: { path: { id: b.id } } }),
        client.broker.GET('/api/v1/backends/{id}/health', { params: { path: { id: b.id }, query: { limit: HISTORY } } }),
      ]);
      return { ...b, detail: detail.data ?? null, health: health.data ?? null };
    }),
  );
  return {
    backends: details,
    panels: ok(panels, event.url).panels,
    filter: { build: build ?? '', population: q.get('population') ?? '', backend: q.get('backend') ?? '' },
    recommend: {
      ancestry,
      build: rbuild,
      result: recommendation?.data ?? null,
      error: recommendation && !recommendation.data ? apiMessage(recommendation.error, recommendation.response) : null,
    },
  };
};
