/**
 * Settings of the notifications (issue 5): the event stream, webhooks, e-mail. Environment
 * variables, validated once at start-up like the rest of the configuration (config.ts): every
 * mistake names the setting and what would be valid, and the broker refuses to start.
 *
 * E-mail is on exactly when an SMTP server (`SMTP_URL`, or `SMTP_HOST`...) and `MAIL_FROM` are
 * both given. The SMTP password (and an `SMTP_URL`, which may carry one) are held as `Secret`s:
 * printed or logged they read `[redacted]`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Secret } from '../vault/secret';

export interface SseSettings {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** Open streams one broker process serves at most. */
  maxClients: number;
  /** Open streams one user may have on one broker process. */
  maxClientsPerUser: number;
  /** Events queued for one stream; beyond it the stream catches up from the table, or is dropped if its client does not read. */
  clientBuffer: number;
  /** A client that has not taken a write for this long while its events pile up is dropped. */
  clientTimeoutMs: number;
}

export interface DeliverySettings {
  /** Tries per delivery (webhook POST or e-mail) before it is marked failed. */
  maxAttempts: number;
  /** Delay before the first retry; each further one waits 4 times longer (with ±20 % jitter). */
  retryBaseMs: number;
  /** Deliveries one worker process has in flight at once. */
  concurrency: number;
}

export interface WebhookSettings {
  /** Allow http:// and private, loopback or link-local targets (operators only; tests). */
  allowPrivate: boolean;
  /** A POST that has not answered in this time is cut off and counts as failed. */
  timeoutMs: number;
  maxPerUser: number;
}

export type SmtpTransport =
  | { url: Secret }
  | { host: string; port: number; secure: boolean; user: string | null; password: Secret | null };

export interface MailSettings {
  smtp: SmtpTransport;
  /** `MAIL_FROM`: `broker@example.org` or `Imputation broker <broker@example.org>`. */
  from: string;
  /** Connection, greeting and socket timeouts of one SMTP conversation. */
  timeoutMs: number;
}

export interface NotificationSettings {
  sse: SseSettings;
  deliveries: DeliverySettings;
  webhooks: WebhookSettings;
  /** Null: e-mail notifications are off. */
  mail: MailSettings | null;
  /** `ADMIN_EMAILS`: who is mailed when the broker itself needs an operator (a backend deactivated). */
  adminEmails: string[];
  /** Events older than this are deleted (deliveries and attempts with them). */
  eventRetentionDays: number;
}

const whole = (name: string, min: number, max: number, fallback: number) => {
  const msg = `${name} must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error: msg }).int(msg).min(min, msg).max(max, msg).default(fallback);
};

const flag = (name: string) => z.enum(['true', 'false', '1', '0'], { error: `${name} must be one of true, false, 1, 0` });

/** An address, or a display name with the address in angle brackets; no line breaks (header injection). */
const MAIL_FROM = /^(?:[^<>\r\n]{0,100}<[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$/;

const schema = z.object({
  SSE_HEARTBEAT_MS: whole('SSE_HEARTBEAT_MS', 100, 300_000, 15_000),
  SSE_MAX_CLIENTS: whole('SSE_MAX_CLIENTS', 1, 100_000, 1000),
  SSE_MAX_CLIENTS_PER_USER: whole('SSE_MAX_CLIENTS_PER_USER', 1, 1000, 10),
  SSE_CLIENT_BUFFER: whole('SSE_CLIENT_BUFFER', 10, 100_000, 1000),
  SSE_CLIENT_TIMEOUT_MS: whole('SSE_CLIENT_TIMEOUT_MS', 100, 600_000, 10_000),
  DELIVERY_MAX_ATTEMPTS: whole('DELIVERY_MAX_ATTEMPTS', 1, 20, 8),
  DELIVERY_RETRY_BASE_MS: whole('DELIVERY_RETRY_BASE_MS', 10, 3_600_000, 15_000),
  DELIVERY_CONCURRENCY: whole('DELIVERY_CONCURRENCY', 1, 100, 8),
  WEBHOOK_ALLOW_PRIVATE: flag('WEBHOOK_ALLOW_PRIVATE').default('false'),
  WEBHOOK_TIMEOUT_MS: whole('WEBHOOK_TIMEOUT_MS', 100, 120_000, 10_000),
  WEBHOOKS_PER_USER: whole('WEBHOOKS_PER_USER', 1, 1000, 10),
  EVENTS_RETENTION_DAYS: whole('EVENTS_RETENTION_DAYS', 1, 365, 7),
  SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s/]+\/?(\?\S*)?$/, 'SMTP_URL must be an smtp:// or smtps:// URL such as smtp://mail.example.org:587').optional(),
  SMTP_HOST: z.string().regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, 'SMTP_HOST must be a host name such as mail.example.org').optional(),
  SMTP_PORT: z.coerce
    .number({ error: 'SMTP_PORT must be a whole number from 1 to 65535' })
    .int('SMTP_PORT must be a whole number from 1 to 65535')
    .min(1, 'SMTP_PORT must be a whole number from 1 to 65535')
    .max(65535, 'SMTP_PORT must be a whole number from 1 to 65535')
    .optional(),
  SMTP_SECURE: flag('SMTP_SECURE').optional(),
  SMTP_USER: z.string().min(1).optional(),
  SMTP_PASSWORD: z.string().min(1).optional(),
  SMTP_PASSWORD_FILE: z.string().min(1).optional(),
  SMTP_TIMEOUT_MS: whole('SMTP_TIMEOUT_MS', 100, 300_000, 30_000),
  MAIL_FROM: z.string().regex(MAIL_FROM, 'MAIL_FROM must be an e-mail address, optionally with a name: Imputation broker <broker@example.org>').optional(),
  ADMIN_EMAILS: z.string().optional(),
});

const ADDRESS = /^[^\s<>@,;]+@[^\s<>@,;]+\.[^\s<>@,;]+$/;

const truthy = (v: string | undefined) => v === 'true' || v === '1';

/** The notification settings, or the list of problems (each naming its setting). */
export function parseNotificationSettings(env: Record<string, string>): { settings: NotificationSettings } | { problems: string[] } {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  }
  const e = parsed.data;
  const problems: string[] = [];

  let mail: MailSettings | null = null;
  const smtpGiven = e.SMTP_URL !== undefined || e.SMTP_HOST !== undefined;
  if (e.SMTP_URL !== undefined && e.SMTP_HOST !== undefined) problems.push('SMTP_URL: give SMTP_URL or SMTP_HOST (with SMTP_PORT...), not both');
  if (e.SMTP_URL !== undefined) {
    for (const name of ['SMTP_PORT', 'SMTP_SECURE', 'SMTP_USER', 'SMTP_PASSWORD', 'SMTP_PASSWORD_FILE'] as const) {
      if (e[name] !== undefined) problems.push(`${name}: not used with SMTP_URL; put it in the URL or use SMTP_HOST instead`);
    }
  }
  if (!smtpGiven) {
    for (const name of ['SMTP_PORT', 'SMTP_SECURE', 'SMTP_USER', 'SMTP_PASSWORD', 'SMTP_PASSWORD_FILE'] as const) {
      if (e[name] !== undefined) problems.push(`${name}: set SMTP_HOST too (or leave ${name} out: e-mail is off without an SMTP server)`);
    }
  }
  if (smtpGiven && e.MAIL_FROM === undefined) problems.push('MAIL_FROM: set the sender address of notification e-mails (e.g. Imputation broker <broker@example.org>), or leave the SMTP settings out');
  if (!smtpGiven && e.MAIL_FROM !== undefined) problems.push('MAIL_FROM: e-mail needs an SMTP server too: set SMTP_URL or SMTP_HOST');
  if (e.SMTP_PASSWORD !== undefined && e.SMTP_PASSWORD_FILE !== undefined) problems.push('SMTP_PASSWORD: give SMTP_PASSWORD or SMTP_PASSWORD_FILE, not both');

  let password: Secret | null = null;
  if (e.SMTP_PASSWORD !== undefined) password = new Secret(e.SMTP_PASSWORD);
  if (e.SMTP_PASSWORD_FILE !== undefined && e.SMTP_PASSWORD === undefined) {
    try {
      const text = readFileSync(e.SMTP_PASSWORD_FILE, 'utf8').trim();
      if (text === '') problems.push(`SMTP_PASSWORD_FILE: ${e.SMTP_PASSWORD_FILE} is empty`);
      else password = new Secret(text);
    } catch {
      problems.push(`SMTP_PASSWORD_FILE: ${e.SMTP_PASSWORD_FILE} does not exist or cannot be read`);
    }
  }
  if (e.SMTP_HOST !== undefined && (e.SMTP_USER === undefined) !== (password === null) && !problems.some((p) => p.startsWith('SMTP_PASSWORD'))) {
    problems.push(e.SMTP_USER === undefined ? 'SMTP_USER: a password was given, so give the user name too' : 'SMTP_PASSWORD: SMTP_USER was given, so give its password (SMTP_PASSWORD or SMTP_PASSWORD_FILE)');
  }
  const adminEmails = (e.ADMIN_EMAILS ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  const badAdmin = adminEmails.filter((a) => !ADDRESS.test(a) || a.length > 254);
  if (badAdmin.length) problems.push(`ADMIN_EMAILS: ${badAdmin.map((a) => `'${a.slice(0, 60)}'`).join(', ')} is not an e-mail address; give addresses separated by commas, such as ops@example.org,admin@example.org`);
  if (adminEmails.length > 20) problems.push('ADMIN_EMAILS: at most 20 addresses (use a mailing list for more)');
  if (adminEmails.length && !smtpGiven) problems.push('ADMIN_EMAILS: mailing the administrators needs an SMTP server: set SMTP_URL or SMTP_HOST, and MAIL_FROM');
  if (problems.length) return { problems };

  if (smtpGiven && e.MAIL_FROM !== undefined) {
    let smtp: SmtpTransport;
    if (e.SMTP_URL !== undefined) {
      smtp = { url: new Secret(e.SMTP_URL) };
    } else {
      const secure = e.SMTP_SECURE !== undefined ? truthy(e.SMTP_SECURE) : e.SMTP_PORT === 465;
      smtp = { host: e.SMTP_HOST!, port: e.SMTP_PORT ?? (secure ? 465 : 587), secure, user: e.SMTP_USER ?? null, password };
    }
    mail = { smtp, from: e.MAIL_FROM, timeoutMs: e.SMTP_TIMEOUT_MS };
  }

  return {
    settings: {
      sse: {
        heartbeatMs: e.SSE_HEARTBEAT_MS,
        maxClients: e.SSE_MAX_CLIENTS,
        maxClientsPerUser: e.SSE_MAX_CLIENTS_PER_USER,
        clientBuffer: e.SSE_CLIENT_BUFFER,
        clientTimeoutMs: e.SSE_CLIENT_TIMEOUT_MS,
      },
      deliveries: { maxAttempts: e.DELIVERY_MAX_ATTEMPTS, retryBaseMs: e.DELIVERY_RETRY_BASE_MS, concurrency: e.DELIVERY_CONCURRENCY },
      webhooks: { allowPrivate: truthy(e.WEBHOOK_ALLOW_PRIVATE), timeoutMs: e.WEBHOOK_TIMEOUT_MS, maxPerUser: e.WEBHOOKS_PER_USER },
      mail,
      adminEmails: [...new Set(adminEmails)],
      eventRetentionDays: e.EVENTS_RETENTION_DAYS,
    },
  };
}

/** Where the SMTP server is, for the start-up log: never the password or the URL's credentials. */
export function describeSmtp(smtp: SmtpTransport): string {
  if ('url' in smtp) {
    const u = new URL(smtp.url.reveal());
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
  }
  return `${smtp.secure ? 'smtps' : 'smtp'}://${smtp.host}:${smtp.port}`;
}
