/**
 * The audit trail (issue 3): every security-relevant action is appended to `audit_events` (who,
 * what, which object, when, from where, outcome). The table refuses UPDATE, DELETE and TRUNCATE
 * itself (migration 0002); this module only ever inserts and selects.
 *
 * `record` is awaited by callers, so events of one request are stored in the order they
 * happened, but it never throws: a failing audit insert is logged (with the event, already
 * scrubbed) and the request goes on. Nothing credential-shaped is stored (see redact.ts).
 */
import type { Context } from 'hono';
import type { DataSource } from 'typeorm';
import { badRequest } from '../http/errors';
import type { Logger } from '../logging';
import { auditSource, normalizeIp, truncate, type AuditSource, type AuditSourceOptions } from './middleware';
import { REDACTED, isSecretKey, maskSecrets } from './redact';

/** The actions the broker records. Other `<area>.<verb>` names are accepted (the table checks the form). */
export const AUDIT_ACTIONS = [
  'auth.login',
  'auth.token_refused',
  'run.submitted',
  'run.canceled',
  'output.downloaded',
  'credential.stored',
  'credential.used',
  'webhook.created',
  'webhook.deleted',
  'policy.denied',
  'admin.backend_changed',
  'audit.read',
] as const;
export type KnownAuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditAction = KnownAuditAction | `${string}.${string}`;

export const AUDIT_OUTCOMES = ['allowed', 'denied', 'failed', 'ok'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What a caller records. `actor` takes a Principal as it is; omit it (or null) for anonymous. */
export interface AuditEventInput {
  action: AuditAction;
  outcome: AuditOutcome;
  actor?: { issuer?: string | null; subject?: string | null } | null;
  object?: { kind: string; id?: string | null } | null;
  /** Why (a refusal reason, an error message): a sentence for a person, not a secret. */
  reason?: string | null;
  /** From `auditSource(c)` / `audit.source(c)`. */
  source?: Partial<AuditSource> | null;
  /** Anything else worth keeping; scrubbed and capped at MAX_DETAILS_BYTES. */
  details?: Record<string, unknown> | null;
}

/** One stored event, as the admin API shows it. */
export interface AuditRecord {
  id: string;
  /** RFC 3339, UTC, microseconds. */
  at: string;
  actor_issuer: string | null;
  actor_subject: string | null;
  action: string;
  object_kind: string | null;
  object_id: string | null;
  outcome: AuditOutcome;
  reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditFilters {
  /** `actor_subject`, exactly. */
  actor?: string;
  /** `actor_issuer`, exactly. */
  issuer?: string;
  /** An action (`run.submitted`) or a family of them (`run.*`). */
  action?: string;
  objectKind?: string;
  objectId?: string;
  outcome?: AuditOutcome;
  /** Inclusive lower bound on `at` (a Date or an RFC 3339 string). */
  since?: Date | string;
  /** Exclusive upper bound on `at`. */
  until?: Date | string;
}

export interface AuditPageRequest {
  pageSize?: number;
  pageToken?: string;
}

export interface AuditPage {
  events: AuditRecord[];
  /** Empty when this is the last page. */
  nextPageToken: string;
}

export interface AuditLog {
  record(event: AuditEventInput): Promise<void>;
  query(filters?: AuditFilters, page?: AuditPageRequest): Promise<AuditPage>;
  /** `auditSource(c)` with this log's proxy setting. */
  source(c: Context): AuditSource;
}

export interface AuditLogOptions extends AuditSourceOptions {}

export const DEFAULT_AUDIT_PAGE_SIZE = 100;
export const MAX_AUDIT_PAGE_SIZE = 500;
export const MAX_REASON_LENGTH = 1000;
export const MAX_DETAILS_BYTES = 8 * 1024;
const MAX_DETAIL_STRING = 1000;
const MAX_DETAIL_DEPTH = 6;
const MAX_DETAIL_ENTRIES = 100;
const MAX_SCAN = 64 * 1024;

export const ACTION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** An action filter: an action, or `<prefix>.*` for a family. */
export const ACTION_FILTER_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$/;

export function createAuditLog(ds: DataSource, logger: Logger, options: AuditLogOptions = {}): AuditLog {
  return {
    async record(event) {
      let row: unknown[] | undefined;
      try {
        row = toRow(event);
        await ds.query(
          `INSERT INTO audit_events
             (actor_issuer, actor_subject, action, object_kind, object_id, outcome, reason, source_ip, user_agent, request_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::inet, $9, $10, $11::jsonb)`,
          row,
        );
      } catch (err) {
        // The request must not fail because its audit line could not be written; the event (already
        // scrubbed) goes to the log instead so it is not lost. Only the message: driver errors
        // carry the query parameters.
        logger.error(
          { err: err instanceof Error ? err.message : String(err), action: event.action, event: row ?? null },
          'audit event could not be stored',
        );
      }
    },

    async query(filters = {}, page = {}) {
      const pageSize = page.pageSize ?? DEFAULT_AUDIT_PAGE_SIZE;
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_AUDIT_PAGE_SIZE) {
        throw badRequest(`page_size must be a whole number from 1 to ${MAX_AUDIT_PAGE_SIZE}`);
      }
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: (p: string) => string, value: unknown) => {
        params.push(value);
        where.push(clause(`$${params.length}`));
      };
      if (filters.actor !== undefined) add((p) => `actor_subject = ${p}`, filters.actor);
      if (filters.issuer !== undefined) add((p) => `actor_issuer = ${p}`, filters.issuer);
      if (filters.action !== undefined) {
        if (!ACTION_FILTER_PATTERN.test(filters.action)) throw badRequest('action must look like "run.submitted" or "run.*"');
        if (filters.action.endsWith('.*')) add((p) => `starts_with(action, ${p})`, filters.action.slice(0, -1));
        else add((p) => `action = ${p}`, filters.action);
      }
      if (filters.objectKind !== undefined) add((p) => `object_kind = ${p}`, filters.objectKind);
      if (filters.objectId !== undefined) add((p) => `object_id = ${p}`, filters.objectId);
      if (filters.outcome !== undefined) add((p) => `outcome = ${p}`, filters.outcome);
      if (filters.since !== undefined) add((p) => `at >= ${p}::timestamptz`, timeParam(filters.since, 'since'));
      if (filters.until !== undefined) add((p) => `at < ${p}::timestamptz`, timeParam(filters.until, 'until'));
      if (page.pageToken) {
        const after = decodeAuditPageToken(page.pageToken);
        if (after === null) throw badRequest('page_token is not valid: pass the next_page_token of the previous page unchanged');
        add((p) => `id < ${p}::bigint`, after);
      }
      params.push(pageSize + 1);
      const rows = (await ds.query(
        `SELECT id::text AS id,
                to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at,
                actor_issuer, actor_subject, action, object_kind, object_id, outcome, reason,
                host(source_ip) AS source_ip, user_agent, request_id, details
           FROM audit_events
          ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY audit_events.id DESC
          LIMIT $${params.length}`,
        params,
      )) as AuditRecord[];
      const more = rows.length > pageSize;
      const events = more ? rows.slice(0, pageSize) : rows;
      return { events, nextPageToken: more ? encodeAuditPageToken(events[events.length - 1]!.id) : '' };
    },

    source(c) {
      return auditSource(c, options);
    },
  };
}

/** Page tokens are opaque to clients; inside is the last id seen (keyset paging, newest first). */
export function encodeAuditPageToken(id: string): string {
  return Buffer.from(`a:${id}`).toString('base64url');
}

/** The id inside a page token, or null if the token was not made by encodeAuditPageToken. */
export function decodeAuditPageToken(token: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(token)) return null;
  const m = /^a:([1-9]\d{0,17})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return m ? m[1]! : null;
}

function timeParam(value: Date | string, name: string): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw badRequest(`${name} is not a valid time`);
    return value.toISOString();
  }
  if (parseRfc3339(value) === null) throw badRequest(`${name} must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z`);
  return value;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Milliseconds since the epoch for an RFC 3339 date-time (section 5.6), or null. Strict where
 * `Date.parse` is lenient: the day must exist in its month, the offset is required, year 0 (which
 * PostgreSQL refuses) is out. A leap second (:60) is accepted, as the RFC allows.
 */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return null;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > daysInMonth) return null;
  let offsetMin = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // setUTCFullYear, unlike Date.UTC, does not turn years 1-99 into 1901-1999; a leap second
  // rolls over into the next minute, which is where PostgreSQL puts it too.
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, Math.floor(Number(`0${m[7] ?? ''}`) * 1000));
  return t.getTime() - offsetMin * 60_000;
}

/** The INSERT parameters for one event, every string cleaned, scrubbed and capped. */
function toRow(e: AuditEventInput): unknown[] {
  if (!ACTION_PATTERN.test(e.action)) throw new Error(`audit action '${String(e.action).slice(0, 80)}' is not of the form area.verb`);
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(e.outcome)) throw new Error(`audit outcome '${String(e.outcome).slice(0, 40)}' is unknown`);
  return [
    capped(e.actor?.issuer, 1024),
    capped(e.actor?.subject, 1024),
    e.action,
    capped(e.object?.kind, 64),
    capped(e.object?.id, 512),
    e.outcome,
    scrubbed(e.reason, MAX_REASON_LENGTH),
    e.source?.source_ip ? normalizeIp(e.source.source_ip) : null,
    scrubbed(e.source?.user_agent, 512),
    capped(e.source?.request_id, 128),
    JSON.stringify(scrubDetails(e.details ?? {})),
  ];
}

function capped(value: string | null | undefined, max: number): string | null {
  return typeof value === 'string' ? truncate(wellFormed(value), max) : null;
}

function scrubbed(value: string | null | undefined, max: number): string | null {
  if (typeof value !== 'string') return null;
  return truncate(maskSecrets(wellFormed(value.slice(0, MAX_SCAN)).replace(/\u0000/g, '')), max);
}

/** Lone surrogates make PostgreSQL refuse the jsonb ("Unicode low surrogate must follow..."). */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** A JSON-safe, scrubbed copy of `details`, replaced by a short summary when it is too big. */
export function scrubDetails(details: Record<string, unknown>): Record<string, unknown> {
  const seen = new WeakSet<object>();
  const walk = (value: unknown, depth: number): unknown => {
    if (value === null) return null;
    switch (typeof value) {
      case 'string':
        return scrubbed(value, MAX_DETAIL_STRING);
      case 'number':
        return Number.isFinite(value) ? value : String(value);
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'object':
        break;
      default:
        return undefined; // functions, symbols, undefined: not data
    }
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (depth >= MAX_DETAIL_DEPTH) return '[too deep]';
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    try {
      if (value instanceof Error) return { name: value.name, message: scrubbed(value.message, MAX_DETAIL_STRING) };
      if (Array.isArray(value)) {
        const out = value.slice(0, MAX_DETAIL_ENTRIES).map((v) => walk(v, depth + 1) ?? null);
        if (value.length > MAX_DETAIL_ENTRIES) out.push(`[${value.length - MAX_DETAIL_ENTRIES} more]`);
        return out;
      }
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const [rawKey, v] of Object.entries(value)) {
        if (n++ >= MAX_DETAIL_ENTRIES) {
          out['[more]'] = `${Object.keys(value).length - MAX_DETAIL_ENTRIES} more keys`;
          break;
        }
        const key = capped(rawKey, 100)!.replace(/\u0000/g, '');
        if (isSecretKey(key) && v !== null && v !== undefined && v !== '') {
          out[key] = REDACTED;
          continue;
        }
        const w = walk(v, depth + 1);
        if (w !== undefined) out[key] = w;
      }
      return out;
    } finally {
      seen.delete(value);
    }
  };
  const clean = (walk(details, 0) ?? {}) as Record<string, unknown>;
  const json = JSON.stringify(clean);
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_DETAILS_BYTES) return clean;
  return { truncated: true, bytes, preview: truncate(json, 1024) };
}
