import { fail } from '@sveltejs/kit';
import { api } from '$lib/server/broker';
import { apiMessage, ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { CSRF_FIELD } from '$lib/run-form';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const client = api(event);
  const [credentials, backends, webhooks, notifications] = await Promise.all([
    client.broker.GET('/api/v1/credentials'),
    client.broker.GET('/api/v1/backends'),
    client.broker.GET('/api/v1/webhooks'),
    client.broker.GET('/api/v1/me/notifications'),
  ]);
  const hooks = ok(webhooks, event.url).webhooks;
  // Each webhook's latest deliveries, with every attempt (status code, error, duration).
  const deliveries = await Promise.all(
    hooks.map(async (w) => {
      const d = await client.broker.GET('/api/v1/webhooks/{webhook_id}/deliveries', { params: { path: { webhook_id: w.id }, query: { page_size: String(DELIVERIES_SHOWN) } } });
      return d.data?.deliveries ?? [];
    }),
  );
  return {
    credentials: ok(credentials, event.url).credentials,
    backends: ok(backends, event.url).backends,
    webhooks: hooks.map((w, i) => ({ ...w, deliveries: deliveries[i] ?? [] })),
    notifications: ok(notifications, event.url),
  };
};

const DELIVERIES_SHOWN = 10;
const EVENT_TYPES = ['run.state', 'run.progress', 'run.terminal'] as const;

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
  /** POST /api/v1/webhooks: the signing secret is in the answer, shown this once. */
  webhook: async (event) => {
    const form = await event.request.formData();
    const url = text(form, 'url').trim();
    const events = form.getAll('events').filter((e): e is (typeof EVENT_TYPES)[number] => typeof e === 'string' && (EVENT_TYPES as readonly string[]).includes(e));
    const description = text(form, 'description').trim();
    const res = await api(event).broker.POST('/api/v1/webhooks', {
      body: { url, ...(events.length ? { events } : {}), description: description || null },
      headers: { 'x-csrf-token': text(form, CSRF_FIELD) },
    });
    if (!res.data) return fail(res.response.status, { action: 'webhook' as const, message: apiMessage(res.error, res.response) });
    return { action: 'webhook' as const, message: `Registered the webhook for ${res.data.events.join(', ')}.`, secret: res.data.secret, signature: res.data.signature.header };
  },
  /** DELETE /api/v1/webhooks/{id}. */
  deleteWebhook: async (event) => {
    const form = await event.request.formData();
    const id = text(form, 'webhook_id');
    const res = await api(event).broker.DELETE('/api/v1/webhooks/{webhook_id}', { params: { path: { webhook_id: id } }, headers: { 'x-csrf-token': text(form, CSRF_FIELD) } });
    if (!res.response.ok) return fail(res.response.status, { action: 'webhook' as const, message: apiMessage(res.error, res.response) });
    return { action: 'webhook' as const, message: 'Deleted the webhook.' };
  },
  /** PUT /api/v1/me/notifications: e-mail when a run completes or fails. */
  notifications: async (event) => {
    const form = await event.request.formData();
    const email = text(form, 'email').trim();
    const res = await api(event).broker.PUT('/api/v1/me/notifications', {
      body: { email: email || null, on_complete: form.has('on_complete'), on_failure: form.has('on_failure') },
      headers: { 'x-csrf-token': text(form, CSRF_FIELD) },
    });
    if (!res.data) return fail(res.response.status, { action: 'notifications' as const, message: apiMessage(res.error, res.response) });
    const on = [res.data.on_complete ? 'completes' : null, res.data.on_failure ? 'fails' : null].filter(Boolean);
    return { action: 'notifications' as const, message: on.length ? `Saved: an e-mail to ${res.data.email ?? 'your address'} when a run ${on.join(' or ')}.` : 'Saved: no e-mails.' };
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
