import { fail } from '@sveltejs/kit';
import { api } from '$lib/server/broker';
import { apiMessage, ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { CSRF_FIELD } from '$lib/run-form';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const res = await api(event).broker.GET('/api/v1/batches/{batch_id}', { params: { path: { batch_id: event.params.id } } });
  return { batch: ok(res, event.url), submitted: event.url.searchParams.has('submitted') };
};

export const actions: Actions = {
  /** POST /api/v1/batches/{id}/cancel: every run of the batch not yet finished; works without JavaScript. */
  cancel: async (event) => {
    const form = await event.request.formData();
    const res = await api(event).broker.POST('/api/v1/batches/{batch_id}/cancel', {
      params: { path: { batch_id: event.params.id } },
      headers: { 'x-csrf-token': String(form.get(CSRF_FIELD) ?? '') },
    });
    if (!res.response.ok) return fail(res.response.status, { message: apiMessage(res.error, res.response) });
    return { message: 'Cancel requested for every unfinished run of the batch.' };
  },
};
