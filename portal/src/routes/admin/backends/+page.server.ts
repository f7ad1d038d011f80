import { error, fail } from '@sveltejs/kit';
import { api, type Api } from '$lib/server/broker';
import { apiMessage, ok } from '$lib/server/errors';
import { requireLogin } from '$lib/server/guard';
import { CSRF_FIELD } from '$lib/run-form';
import type { Actions, PageServerLoad } from './$types';

/** Administrators only: the broker's own answer on who may (`/api/v1/me` permissions.admin). */
async function requireAdmin(client: Api, url: URL): Promise<void> {
  const me = ok(await client.broker.GET('/api/v1/me'), url);
  if (!me.permissions.admin) {
    error(403, { message: 'Managing the imputation services is for administrators: your visas do not give you the administrator role (see “Who am I”).', status: 403 });
  }
}

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const client = api(event);
  await requireAdmin(client, event.url);
  const list = ok(await client.broker.GET('/api/v1/backends'), event.url).backends;
  const details = await Promise.all(list.map(async (b) => ok(await client.broker.GET('/api/v1/backends/{id}', { params: { path: { id: b.id } } }), event.url)));
  return { backends: details };
};

const text = (form: FormData, name: string) => {
  const v = form.get(name);
  return typeof v === 'string' ? v.trim() : '';
};
const positive = (v: string) => (/^\d+$/.test(v) && Number(v) > 0 ? Number(v) : undefined);

export const actions: Actions = {
  disable: async (event) => {
    const form = await event.request.formData();
    const id = text(form, 'id');
    const reason = text(form, 'reason');
    const res = await api(event).broker.POST('/api/v1/admin/backends/{id}/disable', {
      params: { path: { id } },
      body: reason ? { reason } : {},
      headers: { 'x-csrf-token': text(form, CSRF_FIELD) },
    });
    if (!res.data) return fail(res.response.status, { id, message: apiMessage(res.error, res.response) });
    return { id, message: `Disabled ${id}: it takes no new runs; runs already there go on.` };
  },
  enable: async (event) => {
    const form = await event.request.formData();
    const id = text(form, 'id');
    const res = await api(event).broker.POST('/api/v1/admin/backends/{id}/enable', { params: { path: { id } }, headers: { 'x-csrf-token': text(form, CSRF_FIELD) } });
    if (!res.data) return fail(res.response.status, { id, message: apiMessage(res.error, res.response) });
    return { id, message: `Enabled ${id}: it takes new runs again.` };
  },
  sync: async (event) => {
    const form = await event.request.formData();
    const id = text(form, 'id');
    const res = await api(event).broker.POST('/api/v1/admin/backends/{id}/sync', { params: { path: { id } }, headers: { 'x-csrf-token': text(form, CSRF_FIELD) } });
    if (!res.data) return fail(res.response.status, { id, message: apiMessage(res.error, res.response) });
    return { id, message: `Synced ${id}: ${res.data.panels.length} panels (${res.data.app_id} ${res.data.app_version}).` };
  },
  edit: async (event) => {
    const form = await event.request.formData();
    const id = text(form, 'id');
    const patch: Record<string, unknown> = {};
    for (const f of ['name', 'url', 'location'] as const) if (form.has(f)) patch[f] = text(form, f) || (f === 'location' ? null : undefined);
    const max = positive(text(form, 'maxConcurrentJobs'));
    if (max !== undefined) patch.maxConcurrentJobs = max;
    const res = await api(event).broker.PATCH('/api/v1/admin/backends/{id}', {
      params: { path: { id }, header: { 'if-match': text(form, 'version') } },
      body: patch,
      headers: { 'x-csrf-token': text(form, CSRF_FIELD) },
    });
    if (!res.data) return fail(res.response.status, { id, message: apiMessage(res.error, res.response) });
    return { id, message: `Saved ${id} (version ${res.data.version}).` };
  },
  create: async (event) => {
    const form = await event.request.formData();
    const kind = text(form, 'kind');
    const body = {
      id: text(form, 'id'),
      name: text(form, 'name'),
      url: text(form, 'url'),
      kind,
      ...(text(form, 'token') ? { token: text(form, 'token') } : {}),
      ...(text(form, 'location') ? { location: text(form, 'location') } : {}),
      ...(positive(text(form, 'maxConcurrentJobs')) ? { maxConcurrentJobs: positive(text(form, 'maxConcurrentJobs')) } : {}),
    };
    const res = await api(event).broker.POST('/api/v1/admin/backends', { body: body as never, headers: { 'x-csrf-token': text(form, CSRF_FIELD) } });
    if (!res.data) return fail(res.response.status, { id: 'new', message: apiMessage(res.error, res.response) });
    return { id: 'new', message: `Added ${res.data.id}. The broker probes it and discovers its panels now.` };
  },
};
