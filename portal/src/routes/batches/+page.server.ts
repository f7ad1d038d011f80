import { api } from '$lib/server/broker';
import { ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import type { PageServerLoad } from './$types';

/** GET /api/v1/batches: your batches, newest first, with their runs counted by state. */
export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const token = event.url.searchParams.get('page_token') ?? undefined;
  const res = await api(event).broker.GET('/api/v1/batches', { params: { query: { ...(token ? { page_token: token } : {}) } as never } });
  const page = ok(res, event.url);
  return { batches: page.batches, next: page.next_page_token };
};
