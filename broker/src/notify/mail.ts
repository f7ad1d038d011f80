/**
 * E-mail: nodemailer over SMTP, and the one message the broker sends, about a run that completed
 * or failed. The message says which run, its state and backend, and how to fetch the results
 * (WES run log, the `drs://` bundle); it never carries a token or the result password, and the
 * text is masked with the run's password before it leaves in case a backend message quoted it.
 */
import nodemailer from 'nodemailer';
import type { DataSource } from 'typeorm';
import type { SecretBox } from '../crypto/box';
import { returned } from '../db/returning';
import type { ObjectService } from '../drs/objects';
import { maskSecrets } from '../vault/secret';
import { drsUri, wesBase, type Urls } from '../wes/views';
import type { RunEvent } from './events';
import type { MailSettings } from './settings';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface SendOutcome {
  ok: boolean;
  /** The SMTP reply code when the server answered (250 on success). */
  code: number | null;
  error: string | null;
  durationMs: number;
}

export interface Mailer {
  send(message: MailMessage): Promise<SendOutcome>;
  close(): void;
}

export function createMailer(settings: MailSettings): Mailer {
  const timeouts = { connectionTimeout: settings.timeoutMs, greetingTimeout: settings.timeoutMs, socketTimeout: settings.timeoutMs };
  const smtp = settings.smtp;
  const secrets = 'url' in smtp ? [smtp.url] : smtp.password ? [smtp.password] : [];
  const transport =
    'url' in smtp
      ? nodemailer.createTransport({ url: smtp.url.reveal(), ...timeouts, logger: false })
      : nodemailer.createTransport({
          host: smtp.host,
          port: smtp.port,
          secure: smtp.secure,
          ...(smtp.user && smtp.password ? { auth: { user: smtp.user, pass: smtp.password.reveal() } } : {}),
          ...timeouts,
          logger: false,
        });
  return {
    async send(message) {
      const started = performance.now();
      try {
        const info = await transport.sendMail({ from: settings.from, to: message.to, subject: message.subject, text: message.text });
        const code = Number(/^(\d{3})/.exec(info.response ?? '')?.[1] ?? 250);
        const rejected = info.rejected?.length ?? 0;
        return {
          ok: rejected === 0,
          code,
          error: rejected ? 'the SMTP server refused the recipient' : null,
          durationMs: Math.round(performance.now() - started),
        };
      } catch (err) {
        const e = err as Error & { responseCode?: number; code?: string };
        const why = maskSecrets(`${e.code ? `${e.code}: ` : ''}${e.message}`, secrets).slice(0, 500);
        return { ok: false, code: e.responseCode ?? null, error: why, durationMs: Math.round(performance.now() - started) };
      }
    },
    close() {
      transport.close();
    },
  };
}

const FAILURES = new Set(['EXECUTOR_ERROR', 'SYSTEM_ERROR', 'PREEMPTED']);

/** Whether a run's end is one the user may be mailed about, and which preference decides it. */
export function mailKind(state: string): 'complete' | 'failure' | null {
  if (state === 'COMPLETE') return 'complete';
  return FAILURES.has(state) ? 'failure' : null;
}

export interface ComposeDeps {
  ds: Pick<DataSource, 'query'>;
  objects: Pick<ObjectService, 'runBundle'>;
  box: SecretBox;
  urls: Urls;
  /** A backend's display name, when it is still configured. */
  backendName(id: string): string | null;
}

interface RunRow {
  id: string;
  state: string;
  backend_id: string | null;
  end_time: Date | null;
  system_logs: string[];
  password_enc: string;
}

/** The e-mail about a terminal run event; null when the run is gone. */
export async function composeRunMail(deps: ComposeDeps, event: RunEvent, to: string): Promise<MailMessage | null> {
  const run = returned<RunRow>(
    await deps.ds.query(`SELECT id, state, backend_id, end_time, system_logs, password_enc FROM runs WHERE id = $1`, [event.runId]),
  )[0];
  if (!run) return null;
  const state = event.state;
  const failed = mailKind(state) === 'failure';
  const backendId = event.data.backend_id ?? run.backend_id ?? 'unknown';
  const backendName = deps.backendName(backendId);
  const bundle = await deps.objects.runBundle(run.id);
  const runUrl = `${wesBase(deps.urls)}/runs/${run.id}`;
  const lines = [
    failed ? `Your imputation run ${run.id} has failed (${state}).` : `Your imputation run ${run.id} is complete.`,
    '',
    `Run:      ${run.id}`,
    `State:    ${state}`,
    `Backend:  ${backendId}${backendName ? ` (${backendName})` : ''}`,
    `Finished: ${(run.end_time ?? event.at).toISOString()}`,
    '',
  ];
  if (failed) {
    const why = run.system_logs.length ? run.system_logs[run.system_logs.length - 1]! : 'The backend reported the failure without a reason.';
    lines.push('What happened:', `  ${why.slice(0, 1000)}`, '');
  }
  lines.push('How to fetch what the run produced (your access token is needed for each):', `  Run log (GA4GH WES):  GET ${runUrl}`);
  if (bundle) lines.push(`  Results (GA4GH DRS bundle):  ${drsUri(deps.urls, bundle.id)}`);
  if (!failed) {
    lines.push(`  The result zips are encrypted; their password: GET ${deps.urls.base}/api/v1/runs/${run.id}/result-password`);
  }
  lines.push(
    '',
    `You get this e-mail because your notification settings ask for it; change them with`,
    `PUT ${deps.urls.base}/api/v1/me/notifications.`,
  );
  let password = '';
  try {
    password = deps.box.open(run.password_enc);
  } catch {
    // A run sealed with a key no longer held: there is nothing to mask then.
  }
  const text = maskSecrets(lines.join('\n'), password ? [password] : []);
  const subject = failed ? `Imputation run ${run.id} failed (${state})` : `Imputation run ${run.id} is complete`;
  return { to, subject, text };
}
