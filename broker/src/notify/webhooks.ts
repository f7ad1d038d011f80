/**
 * Users' webhooks: register (URL checked, secret generated and sealed), list, delete, and the
 * deliveries made to each with every attempt. A webhook's secret is shown once, in the answer to
 * its creation; it is stored sealed with the key ring and never returned or logged again.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { SecretBox } from '../crypto/box';
import { returned } from '../db/returning';
import { ApiError, badRequest, notFound } from '../http/errors';
import { eventFromRow, eventView, type RunEventView } from './events';
import type { WebhookSettings } from './settings';
import { checkWebhookUrl, newWebhookSecret } from './webhook-http';

/** What a webhook may ask for: every state change, every progress change, or only the end. */
export const WEBHOOK_EVENTS = ['run.state', 'run.progress', 'run.terminal'] as const;
export type WebhookEventFilter = (typeof WEBHOOK_EVENTS)[number];

export interface Owner {
  issuer: string;
  subject: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEventFilter[];
  description: string | null;
  enabled: boolean;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
}

export interface WebhookView {
  id: string;
  url: string;
  events: WebhookEventFilter[];
  description: string | null;
  enabled: boolean;
  disabled_at: string | null;
  disabled_reason: string | null;
  created_at: string;
  last_success_at: string | null;
  last_failure_at: string | null;
}

export interface AttemptView {
  attempt: number;
  at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

export interface DeliveryView {
  id: string;
  channel: 'webhook' | 'email';
  status: 'pending' | 'delivered' | 'failed';
  event: RunEventView;
  created_at: string;
  next_attempt_at: string | null;
  finished_at: string | null;
  last_error: string | null;
  attempts: AttemptView[];
}

export interface DeliveryPage {
  deliveries: DeliveryView[];
  next_page_token: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function webhookView(w: Webhook): WebhookView {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    disabled_at: iso(w.disabledAt),
    disabled_reason: w.disabledReason,
    created_at: w.createdAt.toISOString(),
    last_success_at: iso(w.lastSuccessAt),
    last_failure_at: iso(w.lastFailureAt),
  };
}

interface WebhookRow {
  id: string;
  url: string;
  events: WebhookEventFilter[];
  description: string | null;
  enabled: boolean;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  last_success_at: Date | null;
  last_failure_at: Date | null;
}

const WEBHOOK_COLUMNS = 'id, url, events, description, enabled, disabled_at, disabled_reason, created_at, last_success_at, last_failure_at';

function fromRow(r: WebhookRow): Webhook {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    description: r.description,
    enabled: r.enabled,
    disabledAt: r.disabled_at,
    disabledReason: r.disabled_reason,
    createdAt: r.created_at,
    lastSuccessAt: r.last_success_at,
    lastFailureAt: r.last_failure_at,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const DEFAULT_DELIVERY_PAGE = 20;
export const MAX_DELIVERY_PAGE = 100;

export function encodeDeliveryToken(id: string): string {
  return Buffer.from(`d:${id}`).toString('base64url');
}

export function decodeDeliveryToken(token: string): string {
  const m = /^d:(\d{1,18})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw badRequest('page_token is not valid: pass the next_page_token of the previous page unchanged');
  return m[1]!;
}

export class WebhookService {
  constructor(
    private readonly ds: DataSource,
    private readonly box: SecretBox,
    private readonly settings: WebhookSettings,
  ) {}

  /** Registers a webhook; the answer carries the secret, the only time it is ever given out. */
  async create(owner: Owner, input: { url: string; events: WebhookEventFilter[]; description: string | null }): Promise<{ webhook: Webhook; secret: string }> {
    const url = await checkWebhookUrl(input.url, this.settings.allowPrivate);
    const events = [...new Set(input.events)];
    const secret = newWebhookSecret();
    const id = randomUUID();
    const limit = this.settings.maxPerUser;
    // The count and the insert under one lock per owner: two requests at once cannot both slip under the limit.
    const row = await this.ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`webhooks:${owner.subject},${owner.issuer}`]);
      const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM webhooks WHERE owner_subject = $1 AND owner_issuer = $2`, [owner.subject, owner.issuer])) as [
        { n: number },
      ];
      if (n >= limit) throw new ApiError(409, `You have ${n} webhooks, the most this broker allows (${limit}); delete one first.`);
      const rows = await m.query(
        `INSERT INTO webhooks (id, owner_issuer, owner_subject, url, events, description, secret_enc)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${WEBHOOK_COLUMNS}`,
        [id, owner.issuer, owner.subject, url.href, events, input.description, this.box.seal(secret)],
      );
      return returned<WebhookRow>(rows)[0]!;
    });
    return { webhook: fromRow(row), secret };
  }

  async list(owner: Owner): Promise<Webhook[]> {
    const rows = await this.ds.query(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE owner_subject = $1 AND owner_issuer = $2 ORDER BY created_at, id`,
      [owner.subject, owner.issuer],
    );
    return returned<WebhookRow>(rows).map(fromRow);
  }

  /** The caller's webhook, or 404 (the same answer for another user's and for none at all). */
  async get(owner: Owner, id: string): Promise<Webhook> {
    const missing = notFound(`You have no webhook '${id.slice(0, 80)}'.`);
    if (!UUID.test(id)) throw missing;
    const rows = returned<WebhookRow>(
      await this.ds.query(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND owner_subject = $2 AND owner_issuer = $3`, [
        id.toLowerCase(),
        owner.subject,
        owner.issuer,
      ]),
    );
    if (!rows[0]) throw missing;
    return fromRow(rows[0]);
  }

  /** Deletes the caller's webhook with its deliveries; 404 when there is none. */
  async delete(owner: Owner, id: string): Promise<Webhook> {
    const hook = await this.get(owner, id);
    await this.ds.query(`DELETE FROM webhooks WHERE id = $1`, [hook.id]);
    return hook;
  }

  async deliveries(owner: Owner, webhookId: string, pageSize: number, pageToken?: string): Promise<DeliveryPage> {
    const hook = await this.get(owner, webhookId);
    return listDeliveries(this.ds, { webhookId: hook.id }, pageSize, pageToken);
  }
}

interface DeliveryRow {
  id: string;
  channel: 'webhook' | 'email';
  status: 'pending' | 'delivered' | 'failed';
  created_at: Date;
  next_attempt_at: Date;
  finished_at: Date | null;
  last_error: string | null;
  attempts_json: AttemptView[] | null;
  e_id: string;
  run_id: string;
  owner_issuer: string;
  owner_subject: string;
  type: 'run.state' | 'run.progress';
  state: string;
  progress: number | null;
  at: Date;
  data: Record<string, string>;
}

/** Deliveries of one webhook, or a user's e-mails, newest first, each with all its attempts. */
export async function listDeliveries(
  ds: Pick<DataSource, 'query'>,
  of: { webhookId: string } | { emailOwner: Owner },
  pageSize: number,
  pageToken?: string,
): Promise<DeliveryPage> {
  const before = pageToken ? decodeDeliveryToken(pageToken) : null;
  const where =
    'webhookId' in of
      ? { sql: `d.channel = 'webhook' AND d.webhook_id = $1`, params: [of.webhookId] as unknown[] }
      : { sql: `d.channel = 'email' AND d.owner_subject = $1 AND d.owner_issuer = $2`, params: [of.emailOwner.subject, of.emailOwner.issuer] as unknown[] };
  const params = [...where.params, pageSize + 1];
  let sql = `
    SELECT d.id, d.channel, d.status, d.created_at, d.next_attempt_at, d.finished_at, d.last_error,
           (SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'duration_ms', a.duration_ms,
                                              'status_code', a.status_code, 'error', a.error) ORDER BY a.attempt)
              FROM delivery_attempts a WHERE a.delivery_id = d.id) AS attempts_json,
           e.id AS e_id, e.run_id, e.owner_issuer, e.owner_subject, e.type, e.state, e.progress, e.at, e.data
      FROM notification_deliveries d JOIN run_events e ON e.id = d.event_id
     WHERE ${where.sql}`;
  if (before) {
    params.push(before);
    sql += ` AND d.id < $${params.length}`;
  }
  sql += ` ORDER BY d.id DESC LIMIT $${where.params.length + 1}`;
  const rows = returned<DeliveryRow>(await ds.query(sql, params));
  const more = rows.length > pageSize;
  const page = more ? rows.slice(0, pageSize) : rows;
  return {
    deliveries: page.map((r) => ({
      id: String(r.id),
      channel: r.channel,
      status: r.status,
      event: eventView(
        eventFromRow({
          id: r.e_id,
          run_id: r.run_id,
          owner_issuer: r.owner_issuer,
          owner_subject: r.owner_subject,
          type: r.type,
          state: r.state as never,
          progress: r.progress,
          at: r.at,
          data: r.data,
        }),
      ),
      created_at: r.created_at.toISOString(),
      next_attempt_at: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
      finished_at: iso(r.finished_at),
      last_error: r.last_error,
      attempts: (r.attempts_json ?? []).map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    })),
    next_page_token: more ? encodeDeliveryToken(String(page[page.length - 1]!.id)) : '',
  };
}
