import { api } from '$lib/server/broker';
import { ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  return { me: ok(await api(event).broker.GET('/api/v1/me'), event.url), session: event.locals.session };
};
