/**
 * The dev provider's login and consent pages: the smallest interaction that makes the
 * authorization-code flow work in a browser (and in a test with `fetch`), no templates, no assets.
 *
 *   GET  <mount>/interaction/<uid>  login prompt: the form; consent prompt: granted and resumed at
 *                                   once for first-party clients (every client of the dev provider),
 *                                   refused (access_denied) for any other.
 *   POST <mount>/interaction/<uid>  username + password, checked against users.ts; right: resume the
 *                                   authorization request (303); wrong: the form again, no redirect.
 *
 * CSRF: the interaction is bound to oidc-provider's `_interaction` cookie (httpOnly, SameSite=Lax,
 * path = this URL), which a cross-site form post does not carry, and to the unguessable uid in the
 * URL, which must be the cookie's. A POST whose `Origin` is another host is refused as well.
 * Everything user-controlled that reaches the HTML (username, client id) is escaped; the pages
 * forbid framing and load nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors as oidcErrors, type Interaction, type Provider } from 'oidc-provider';
import { authenticateDevUser, type DevUser } from './users';

export interface InteractionHandlerOptions {
  provider: Provider;
  /** Clients whose consent is implied (the demo's own portal): consent is granted without asking. */
  firstPartyClients: ReadonlySet<string>;
  /** Default: the demo users of users.ts. */
  authenticate?: (username: string, password: string) => DevUser | undefined;
}

export interface InteractionHandler {
  /** True for a path (relative to the provider mount, no query) this handler serves. */
  matches(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

const PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/;
const MAX_FORM_BYTES = 4096;

export function createInteractionHandler(options: InteractionHandlerOptions): InteractionHandler {
  const { provider, firstPartyClients } = options;
  const authenticate = options.authenticate ?? authenticateDevUser;

  async function grantConsent(req: IncomingMessage, res: ServerResponse, details: Interaction): Promise<void> {
    const clientId = String(details.params.client_id ?? '');
    const accountId = details.session?.accountId;
    if (!firstPartyClients.has(clientId) || accountId === undefined) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'consent is only granted to the demo portal' }, { mergeWithLastSubmission: false });
      return;
    }
    const existing = details.grantId !== undefined ? await provider.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
    if (missingOIDCScope !== undefined) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims !== undefined) grant.addOIDCClaims(missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: existing === undefined ? { grantId } : {} }, { mergeWithLastSubmission: true });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const uid = PATH.exec(path)?.[1];
    if (uid === undefined) return page(res, 404, 'Not found', '<p>There is nothing here.</p>');
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      return page(res, 405, 'Method not allowed', '<p>Use the login form.</p>');
    }
    if (req.method === 'POST' && !sameOrigin(req)) return page(res, 403, 'Refused', '<p>This form can only be sent from this site.</p>');

    let details: Interaction;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      if (err instanceof oidcErrors.SessionNotFound) return expired(res);
      throw err;
    }
    // The cookie names one interaction, the URL another: a stale tab or a forged link.
    if (details.uid !== uid) return expired(res);
    const clientId = String(details.params.client_id ?? '');

    if (details.prompt.name === 'consent') return grantConsent(req, res, details);
    if (details.prompt.name !== 'login') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unsupported interaction' }, { mergeWithLastSubmission: false });
      return;
    }
    if (req.method === 'GET') return loginForm(res, 200, clientId);

    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch {
      return page(res, 400, 'Bad request', '<p>The form could not be read.</p>');
    }
    if (form.get('action') === 'cancel') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the login' }, { mergeWithLastSubmission: false });
      return;
    }
    const username = form.get('username') ?? '';
    const user = authenticate(username, form.get('password') ?? '');
    if (user === undefined) return loginForm(res, 403, clientId, username, 'Wrong username or password.');
    await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  }

  return { matches: (path) => path.startsWith('/interaction/'), handle };
}

/** A POST without `Origin` (older clients, curl) passes; one from another host does not. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new Error('not a form');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginForm(res: ServerResponse, status: number, clientId: string, username = '', error?: string): void {
  // No `action`: the form posts back to this very URL, /interaction/<uid>, whatever the mount.
  const body = `
<p>Sign in to continue to <strong>${escapeHtml(clientId)}</strong>.</p>
${error !== undefined ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" autocomplete="off">
  <label>Username <input name="username" value="${escapeHtml(username)}" required autofocus></label>
  <label>Password <input name="password" type="password" required></label>
  <button type="submit" name="action" value="login">Sign in</button>
  <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>
<p class="hint">Demo accounts: <code>alice</code> / <code>alice</code> (researcher), <code>admin</code> / <code>admin</code> (administrator).</p>`;
  page(res, status, 'Sign in', body);
}

function expired(res: ServerResponse): void {
  page(res, 400, 'Login expired', '<p>This login is no longer valid. Go back to the application and sign in again.</p>');
}

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · imputation broker (dev)</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.75rem 0}input{display:block;width:100%;padding:.4rem;box-sizing:border-box}button{margin:.75rem .5rem 0 0;padding:.4rem 1rem}.error{color:#a00}.hint{color:#555;font-size:.9em}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the
    // login form's POST, which sameOrigin() (rightly) refuses, so no real browser could sign in.
    // same-origin still gives other sites no referrer.
    'referrer-policy': 'same-origin',
    // No form-action: after the post, the redirect chain ends at the client's redirect URI, which
    // browsers would check against form-action too.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  });
  res.end(html);
}
