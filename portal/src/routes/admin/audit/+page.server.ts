import { api } from '$lib/server/broker';
import { ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import type { PageServerLoad } from './$types';

const FILTERS = ['actor', 'action', 'object_kind', 'object_id', 'outcome', 'since', 'until'] as const;

/** GET /api/v1/audit with the page's query as filters; the API's 400 and 403 messages become the error page. */
export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const q = event.url.searchParams;
  const query: Record<string, string> = {};
  for (const f of [...FILTERS, 'page_token', 'page_size']) {
    const v = q.get(f)?.trim();
    if (v) query[f] = v;
  }
  const res = await api(event).broker.GET('/api/v1/audit', { params: { query: { page_size: 50, ...query } as never } });
  const page = ok(res, event.url);
  return { events: page.events, next: page.next_page_token, filters: Object.fromEntries(FILTERS.map((f) => [f, q.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string> };
};
