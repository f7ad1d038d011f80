/**
 * Notifications (issue 5), assembled for one broker process: the event hub (SSE fan-out) in every
 * process, the delivery worker (webhooks, e-mail, pruning) in worker processes.
 */
import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { SecretBox } from '../crypto/box';
import type { ObjectService } from '../drs/objects';
import type { Logger } from '../logging';
import type { Urls } from '../wes/views';
import { DeliveryWorker } from './deliveries';
import { EventHub } from './hub';
import { createMailer, type Mailer, type SendOutcome } from './mail';
import { PreferenceService } from './preferences';
import { describeSmtp, type NotificationSettings } from './settings';
import { WebhookService } from './webhooks';

export interface Notifications {
  settings: NotificationSettings;
  hub: EventHub;
  webhooks: WebhookService;
  preferences: PreferenceService;
  /** Null in API-only processes (WORKER=false). */
  deliveries: DeliveryWorker | null;
  /** E-mail is configured (SMTP and MAIL_FROM). */
  mailEnabled: boolean;
  /**
   * Mails every address of ADMIN_EMAILS (nothing when e-mail or the list is off); each address is
   * tried up to 3 times, and every outcome logged without the SMTP credentials.
   */
  notifyAdmins(message: { subject: string; text: string }): Promise<SendOutcome[]>;
  close(): Promise<void>;
}

export interface NotificationOptions {
  ds: DataSource;
  databaseUrl: string;
  box: SecretBox;
  settings: NotificationSettings;
  log: Logger;
  objects: Pick<ObjectService, 'runBundle'>;
  urls: Urls;
  backendName(id: string): string | null;
  /** Run the delivery worker here (worker processes). */
  worker: boolean;
  metrics?: Registry;
  /** Longest wait between looks for due deliveries (tests shorten it). */
  deliveryPollMs?: number;
}

export async function startNotifications(o: NotificationOptions): Promise<Notifications> {
  const { settings, log } = o;
  const hub = new EventHub({
    connectionString: o.databaseUrl,
    db: o.ds,
    log,
    maxClients: settings.sse.maxClients,
    maxClientsPerUser: settings.sse.maxClientsPerUser,
    clientBuffer: settings.sse.clientBuffer,
    clientTimeoutMs: settings.sse.clientTimeoutMs,
  });
  await hub.start();

  let mailer: Mailer | null = null;
  if (settings.mail) {
    mailer = createMailer(settings.mail);
    log.info({ smtp: describeSmtp(settings.mail.smtp), from: settings.mail.from }, 'e-mail notifications are on');
  } else {
    log.info('e-mail notifications are off: no SMTP server configured (set SMTP_URL or SMTP_HOST, and MAIL_FROM)');
  }
  if (mailer && !settings.adminEmails.length) {
    log.info('administrators are told of deactivated backends through the audit trail only: set ADMIN_EMAILS to mail them too');
  }

  let deliveries: DeliveryWorker | null = null;
  if (o.worker) {
    deliveries = new DeliveryWorker({
      ds: o.ds,
      box: o.box,
      settings,
      log,
      mailer,
      compose: { ds: o.ds, objects: o.objects, box: o.box, urls: o.urls, backendName: o.backendName },
      ...(o.deliveryPollMs ? { pollMs: o.deliveryPollMs } : {}),
    });
    const worker = deliveries;
    hub.onEvents(() => worker.kick());
    worker.start();
  }

  if (o.metrics) {
    const registry = o.metrics;
    new Gauge({
      name: 'broker_event_streams',
      help: 'Open SSE event streams in this process',
      registers: [registry],
      collect() {
        this.set(hub.stats().subscribers);
      },
    });
    new Gauge({
      name: 'broker_event_listener_connected',
      help: '1 while the LISTEN connection to PostgreSQL is up',
      registers: [registry],
      collect() {
        this.set(hub.stats().connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'broker_notification_deliveries',
      help: 'Webhook and e-mail deliveries by channel and status',
      labelNames: ['channel', 'status'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = (await o.ds.query(`SELECT channel, status, count(*)::int AS n FROM notification_deliveries GROUP BY channel, status`)) as {
          channel: string;
          status: string;
          n: number;
        }[];
        for (const r of rows) this.set({ channel: r.channel, status: r.status }, r.n);
      },
    });
  }

  return {
    settings,
    hub,
    webhooks: new WebhookService(o.ds, o.box, settings.webhooks),
    preferences: new PreferenceService(o.ds),
    deliveries,
    mailEnabled: mailer !== null,
    async notifyAdmins(message) {
      if (!mailer) return [];
      const send = mailer;
      return Promise.all(
        settings.adminEmails.map(async (to) => {
          let outcome: SendOutcome = { ok: false, code: null, error: 'not sent', durationMs: 0 };
          for (let attempt = 1; attempt <= 3; attempt++) {
            outcome = await send.send({ to, ...message });
            if (outcome.ok || (outcome.code !== null && outcome.code >= 500)) break;
            await new Promise((r) => setTimeout(r, 1000 * attempt));
          }
          if (outcome.ok) log.info({ to, subject: message.subject }, 'administrator mailed');
          else log.warn({ to, subject: message.subject, code: outcome.code, error: outcome.error }, 'could not mail an administrator');
          return outcome;
        }),
      );
    },
    async close() {
      await hub.close();
      await deliveries?.stop();
      mailer?.close();
    },
  };
}
