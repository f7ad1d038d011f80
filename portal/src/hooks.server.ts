import type { Handle, HandleServerError } from '@sveltejs/kit';
import { ANONYMOUS, fetchSession } from '$lib/server/broker';
import { MAX_FORM_BYTES, UPLOAD_PATH } from '$lib/server/limits';

export const handle: Handle = async ({ event, resolve }) => {
  // Form actions read their whole body; only the run upload (which streams) may be large.
  const method = event.request.method;
  if (method !== 'GET' && method !== 'HEAD' && event.url.pathname !== UPLOAD_PATH) {
    const length = Number(event.request.headers.get('content-length') ?? NaN);
    if (!Number.isFinite(length) || length > MAX_FORM_BYTES) {
      return new Response(`This form is limited to ${MAX_FORM_BYTES / 1024} KB.`, { status: 413, headers: { 'content-type': 'text/plain' } });
    }
  }

  try {
    event.locals.session = await fetchSession(event);
  } catch (err) {
    // The broker is down or unreachable: pages say so instead of pretending nobody is logged in.
    console.error(`portal: the broker's /auth/session failed: ${(err as Error).message}`);
    event.locals.session = ANONYMOUS;
    if (!event.url.pathname.startsWith('/_app/')) {
      return new Response(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Broker unavailable</title></head><body><main><h1>The broker cannot be reached</h1><p>The portal could not reach the imputation broker. Try again in a moment.</p></main></body></html>',
        { status: 503, headers: { 'content-type': 'text/html; charset=utf-8', 'retry-after': '5' } },
      );
    }
  }

  const response = await resolve(event);
  response.headers.set('x-content-type-options', 'nosniff');
  response.headers.set('referrer-policy', 'same-origin');
  // Pages show a person's runs and visas: never kept by a shared cache.
  if (!response.headers.has('cache-control')) response.headers.set('cache-control', 'private, no-store');
  return response;
};

export const handleError: HandleServerError = ({ error, event, status }) => {
  // The stack stays in the server log; the page gets a sentence.
  if (status !== 404) console.error(`portal: ${event.request.method} ${event.url.pathname} failed:`, error);
  return {
    message: status === 404 ? `No page at ${event.url.pathname}.` : 'Something went wrong in the portal; the error has been logged. Try again.',
    status,
  };
};
