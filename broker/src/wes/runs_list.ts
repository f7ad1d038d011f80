/**
 * GET /runs (ListRuns): the caller's runs, newest first, keyset-paged so pages stay stable.
 * Broker extensions (api-spec/wes.yaml): filters `state` (repeatable or comma-separated), `tag`
 * (`key:value`, repeatable, all must match), `backend`, `batch`, `since` and `until` (creation
 * time, ISO 8601), and the number of matching runs over all pages in `X-Total-Count`. The page
 * token holds the last `seq` seen, so any replica answers the next page the same.
 */
import { WES_STATES, type RunListResponse } from '@ibroker/api-spec/index';
import type { WesState } from '@ibroker/adapters/types';
import { ownerKey } from '../auth/principal';
import type { App, AppDeps } from '../http/context';
import { badRequest } from '../http/errors';
import { parsePageSize, type RunFilter } from '../runs/service';
import { runSummary } from './views';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;
const show = (v: string) => JSON.stringify(v.slice(0, 80));

function time(name: string, value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const at = ISO_TIME.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    throw badRequest(`${name} must be an ISO 8601 date or date-time with an offset (e.g. 2026-01-31 or 2026-01-31T12:00:00Z), got ${show(value)}.`);
  }
  return at;
}

/** The list filters from the query string; 400 naming the bad value. */
export function parseRunFilter(query: Record<string, string[]>): RunFilter {
  const filter: RunFilter = {};
  const states = (query.state ?? []).flatMap((s) => s.split(',')).map((s) => s.trim().toUpperCase()).filter(Boolean);
  for (const s of states) {
    if (!(WES_STATES as readonly string[]).includes(s)) throw badRequest(`state ${show(s)} is not a WES state. Use one or more of: ${WES_STATES.join(', ')}.`);
  }
  if (states.length) filter.states = [...new Set(states)] as WesState[];
  const tags = query.tag ?? [];
  if (tags.length > 20) throw badRequest('At most 20 tag filters.');
  for (const t of tags) {
    const i = t.indexOf(':');
    if (i <= 0) throw badRequest(`tag must be key:value (e.g. tag=project:cohort-a), got ${show(t)}.`);
    (filter.tags ??= []).push([t.slice(0, i), t.slice(i + 1)]);
  }
  const one = (name: string) => {
    const v = query[name] ?? [];
    if (v.length > 1) throw badRequest(`${name} may be given once.`);
    return v[0];
  };
  const backend = one('backend');
  if (backend !== undefined && backend !== '') {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(backend)) throw badRequest(`backend ${show(backend)} is not a backend id (lower-case letters, digits and dashes).`);
    filter.backend = backend;
  }
  const batch = one('batch');
  if (batch !== undefined && batch !== '') {
    if (!UUID.test(batch)) throw badRequest(`batch ${show(batch)} is not a batch id (a UUID, as POST /api/v1/batches returns).`);
    filter.batch = batch.toLowerCase();
  }
  const since = time('since', one('since'));
  const until = time('until', one('until'));
  if (since) filter.since = since;
  if (until) filter.until = until;
  if (since && until && since >= until) throw badRequest('since must be before until.');
  return filter;
}

export function registerRunsList(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/runs', deps.authenticate, async (c) => {
    const pageSize = parsePageSize(c.req.query('page_size'));
    const filter = parseRunFilter(c.req.queries());
    const page = await deps.runs.list(ownerKey(c.get('principal')), pageSize, c.req.query('page_token') || undefined, filter);
    const body: RunListResponse = { runs: page.runs.map(runSummary), next_page_token: page.nextPageToken };
    c.header('X-Total-Count', String(page.total));
    return c.json(body, 200);
  });
}
