import { fail } from '@sveltejs/kit';
import { api } from '$lib/server/broker';
import { apiMessage, ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { CSRF_FIELD } from '$lib/run-form';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const client = api(event);
  const [credentials, backends] = await Promise.all([client.broker.GET('/api/v1/credentials'), client.broker.GET('/api/v1/backends')]);
  return { credentials: ok(credentials, event.url).credentials, backends: ok(backends, event.url).backends };
};

const text = (form: FormData, name: string) => {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
};

export const actions: Actions = {
  /** PUT /api/v1/credentials/{backend}: store or replace. The secret is never sent back, not even on a refusal. */
  save: async (event) => {
    const form = await event.request.formData();
    const backend = text(form, 'backend_id');
    const secret = text(form, 'secret');
    const label = text(form, 'label').trim();
    if (!backend) return fail(400, { action: 'save' as const, message: 'Choose the service the token is for.' });
    const res = await api(event).broker.PUT('/api/v1/credentials/{backend_id}', {
      params: { path: { backend_id: backend } },
      body: { kind: 'api_token', secret, label: label || null },
      headers: { 'x-csrf-token': text(form, CSRF_FIELD) },
    });
    if (!res.data) return fail(res.response.status, { action: 'save' as const, message: apiMessage(res.error, res.response) });
    return {
      action: 'save' as const,
      message: `${res.response.status === 201 ? 'Stored' : 'Replaced'} your token for ${res.data.backend_id} (fingerprint ${res.data.fingerprint}).`,
    };
  },
  /** DELETE /api/v1/credentials/{backend}. */
  delete: async (event) => {
    const form = await event.request.formData();
    const backend = text(form, 'backend_id');
    const res = await api(event).broker.DELETE('/api/v1/credentials/{backend_id}', {
      params: { path: { backend_id: backend } },
      headers: { 'x-csrf-token': text(form, CSRF_FIELD) },
    });
    if (!res.response.ok) return fail(res.response.status, { action: 'delete' as const, message: apiMessage(res.error, res.response) });
    return { action: 'delete' as const, message: `Deleted your token for ${backend}.` };
  },
};
