import { api } from '$lib/server/broker';
import type { LayoutServerLoad } from './$types';

/** Who is signed in, for the navigation; the CSRF token goes into the pages' forms. */
export const load: LayoutServerLoad = async (event) => {
  const session = event.locals.session;
  if (!session.authenticated) return { user: null, csrf: null };
  const me = await api(event).broker.GET('/api/v1/me');
  return {
    user: {
      subject: session.subject ?? '',
      name: session.name ?? session.subject ?? '',
      admin: me.data?.permissions.read_audit ?? false,
      manageBackends: me.data?.permissions.admin ?? false,
      canSubmit: me.data?.permissions.submit_runs ?? false,
    },
    csrf: session.csrf_token,
  };
};
