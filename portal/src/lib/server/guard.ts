import { redirect, type RequestEvent } from '@sveltejs/kit';
import { loginUrl } from './errors';

/** Pages for signed-in people send everyone else through the login and back. */
export function requireLogin(event: Pick<RequestEvent, 'locals' | 'url'>): void {
  if (!event.locals.session.authenticated) redirect(303, loginUrl(event.url));
}
