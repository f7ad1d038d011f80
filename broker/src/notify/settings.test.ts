/** The notification settings through loadConfig: defaults, e-mail on only with SMTP and MAIL_FROM, every mistake named. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config';
import { describeSmtp } from './settings';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ibroker-notify-settings-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`configuration was accepted: ${JSON.stringify(env)}`);
}

describe('notification settings', () => {
  it('has defaults: heartbeat 15 s, 8 tries from 15 s up by 4x, https public webhooks only, no e-mail', () => {
    expect(loadConfig({}).notifications).toEqual({
      sse: { heartbeatMs: 15_000, maxClients: 1000, maxClientsPerUser: 10, clientBuffer: 1000, clientTimeoutMs: 10_000 },
      deliveries: { maxAttempts: 8, retryBaseMs: 15_000, concurrency: 8 },
      webhooks: { allowPrivate: false, timeoutMs: 10_000, maxPerUser: 10 },
      mail: null,
      adminEmails: [],
      eventRetentionDays: 7,
    });
  });

  it('turns e-mail on with SMTP_HOST (port 587, 465 meaning implicit TLS) and MAIL_FROM, the password from a file', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 's3cret-from-file\n');
    const mail = loadConfig({ SMTP_HOST: 'mail.example.org', SMTP_USER: 'broker', SMTP_PASSWORD_FILE: file, MAIL_FROM: 'broker@example.org' }).notifications.mail!;
    expect(mail.from).toBe('broker@example.org');
    expect(mail.smtp).toMatchObject({ host: 'mail.example.org', port: 587, secure: false, user: 'broker' });
    expect('password' in mail.smtp && mail.smtp.password?.reveal()).toBe('s3cret-from-file');
    // Printed or serialised, the password is redacted.
    expect(JSON.stringify(mail)).not.toContain('s3cret');
    expect(inspect(mail, { depth: 5 })).not.toContain('s3cret');
    expect(describeSmtp(mail.smtp)).toBe('smtp://mail.example.org:587');
    const tls = loadConfig({ SMTP_HOST: 'mail.example.org', SMTP_PORT: '465', MAIL_FROM: 'Broker <broker@example.org>' }).notifications.mail!;
    expect(tls.smtp).toMatchObject({ port: 465, secure: true, user: null, password: null });
  });

  it('takes SMTP_URL, keeping its credentials out of what is shown', () => {
    const mail = loadConfig({ SMTP_URL: 'smtps://broker:hunter2@mail.example.org:465', MAIL_FROM: 'broker@example.org' }).notifications.mail!;
    expect(describeSmtp(mail.smtp)).toBe('smtps://mail.example.org:465');
    expect(JSON.stringify(mail)).not.toContain('hunter2');
  });

  it.each([
    [{ SMTP_HOST: 'mail.example.org' }, ['MAIL_FROM: set the sender address of notification e-mails (e.g. Imputation broker <broker@example.org>), or leave the SMTP settings out']],
    [{ MAIL_FROM: 'broker@example.org' }, ['MAIL_FROM: e-mail needs an SMTP server too: set SMTP_URL or SMTP_HOST']],
    [{ SMTP_HOST: 'mail.example.org', MAIL_FROM: 'not an address' }, ['MAIL_FROM: MAIL_FROM must be an e-mail address, optionally with a name: Imputation broker <broker@example.org>']],
    [{ SMTP_HOST: 'mail.example.org', MAIL_FROM: 'broker@example.org\nBcc: x@example.org' }, ['MAIL_FROM: MAIL_FROM must be an e-mail address, optionally with a name: Imputation broker <broker@example.org>']],
    [{ SMTP_URL: 'http://mail.example.org', MAIL_FROM: 'broker@example.org' }, ['SMTP_URL: SMTP_URL must be an smtp:// or smtps:// URL such as smtp://mail.example.org:587']],
    [{ SMTP_URL: 'smtp://mail.example.org', SMTP_HOST: 'mail.example.org', MAIL_FROM: 'b@example.org' }, ['SMTP_URL: give SMTP_URL or SMTP_HOST (with SMTP_PORT...), not both']],
    [{ SMTP_URL: 'smtp://mail.example.org', SMTP_USER: 'u', MAIL_FROM: 'b@example.org' }, ['SMTP_USER: not used with SMTP_URL; put it in the URL or use SMTP_HOST instead']],
    [{ SMTP_USER: 'u' }, ['SMTP_USER: set SMTP_HOST too (or leave SMTP_USER out: e-mail is off without an SMTP server)']],
    [{ SMTP_HOST: 'mail.example.org', SMTP_USER: 'u', MAIL_FROM: 'b@example.org' }, ['SMTP_PASSWORD: SMTP_USER was given, so give its password (SMTP_PASSWORD or SMTP_PASSWORD_FILE)']],
    [{ SMTP_HOST: 'mail.example.org', SMTP_PASSWORD: 'p', MAIL_FROM: 'b@example.org' }, ['SMTP_USER: a password was given, so give the user name too']],
    [{ SMTP_HOST: 'mail.example.org', SMTP_USER: 'u', SMTP_PASSWORD: 'p', SMTP_PASSWORD_FILE: '/x', MAIL_FROM: 'b@example.org' }, ['SMTP_PASSWORD: give SMTP_PASSWORD or SMTP_PASSWORD_FILE, not both']],
    [{ SMTP_HOST: 'mail.example.org', SMTP_USER: 'u', SMTP_PASSWORD_FILE: '/no/such/file', MAIL_FROM: 'b@example.org' }, ['SMTP_PASSWORD_FILE: /no/such/file does not exist or cannot be read']],
    [{ SMTP_PORT: '70000' }, ['SMTP_PORT: SMTP_PORT must be a whole number from 1 to 65535']],
    [{ WEBHOOK_ALLOW_PRIVATE: 'yes' }, ['WEBHOOK_ALLOW_PRIVATE: WEBHOOK_ALLOW_PRIVATE must be one of true, false, 1, 0']],
    [{ WEBHOOK_TIMEOUT_MS: '50' }, ['WEBHOOK_TIMEOUT_MS: WEBHOOK_TIMEOUT_MS must be a whole number from 100 to 120000']],
    [{ DELIVERY_MAX_ATTEMPTS: '0' }, ['DELIVERY_MAX_ATTEMPTS: DELIVERY_MAX_ATTEMPTS must be a whole number from 1 to 20']],
    [{ SSE_HEARTBEAT_MS: 'often' }, ['SSE_HEARTBEAT_MS: SSE_HEARTBEAT_MS must be a whole number from 100 to 300000']],
    [{ EVENTS_RETENTION_DAYS: '0' }, ['EVENTS_RETENTION_DAYS: EVENTS_RETENTION_DAYS must be a whole number from 1 to 365']],
  ])('refuses %j', (env, expected) => {
    expect(problems(env)).toEqual(expected);
  });

  it('reports notification mistakes together with the others', () => {
    expect(problems({ DEMO: 'false', SMTP_HOST: 'mail.example.org' })).toEqual([
      'OIDC_ISSUER: set the issuer of your identity provider (or DEMO=true for the built-in dev provider)',
      'backends: configure at least one backend in CONFIG_FILE (or DEMO=true for the demo simulators)',
      'MAIL_FROM: set the sender address of notification e-mails (e.g. Imputation broker <broker@example.org>), or leave the SMTP settings out',
    ]);
  });
});
