/**
 * A secret that cannot leak by accident: printing, logging (pino serializes with JSON) or
 * interpolating it gives `[redacted]`; only `reveal()` gives the value, at the one place it is sent.
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * The text with every given secret replaced, raw and in the encodings it travels in (URL form
 * bodies and query strings, JSON strings), so an error from a client or server that echoes what it
 * was sent cannot carry the secret on into a message or a log.
 */
export function maskSecrets(text: string, secrets: ReadonlyArray<string | Secret>): string {
  let out = text;
  for (const s of secrets) {
    const value = typeof s === 'string' ? s : s.reveal();
    if (value.length < 4) continue;
    const forms = new Set([value, encodeURIComponent(value), new URLSearchParams({ s: value }).toString().slice(2), JSON.stringify(value).slice(1, -1)]);
    for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(REDACTED);
  }
  return out;
}
