/**
 * Reading response bodies without trusting their size or their pace: error bodies and JSON
 * answers are read only up to a cap, and downloads fail when the server stops sending.
 */
import { Readable } from 'node:stream';

/** Thrown by `readCapped(..., { fail: true })` when the body is longer than allowed. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the answer is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * The body as text, at most `maxBytes` of it. By default a longer body is cut (enough for an
 * error message); with `fail` it is an error, because half a JSON document is no document.
 * Either way the rest is never downloaded: the stream is cancelled.
 */
export async function readCapped(response: Response, maxBytes: number, options: { fail?: boolean } = {}): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  try {
    while (bytes < maxBytes) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      bytes += value.byteLength;
      if (bytes > maxBytes) {
        if (options.fail) throw new BodyTooLargeError(maxBytes);
        text += decoder.decode(value.subarray(0, value.byteLength - (bytes - maxBytes)), { stream: true });
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
    if (options.fail) {
      // Exactly at the cap: only an immediate end of stream makes it complete.
      const { done } = await reader.read();
      if (!done) throw new BodyTooLargeError(maxBytes);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text + decoder.decode();
}

/**
 * The body as a Node stream that fails when the server keeps a read waiting for `idleMs`: a
 * whole-body deadline would kill a healthy 10 GB download, no deadline would hang on a dead
 * connection. The clock only runs while the consumer has asked for data, so a slow consumer
 * (backpressure) is never mistaken for a stalled server.
 */
export class IdleWatchedBody extends Readable {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #idleMs: number;
  readonly #abort: () => void;
  readonly #makeError: () => Error;
  #timer: NodeJS.Timeout | undefined;

  constructor(body: ReadableStream<Uint8Array>, idleMs: number, abort: () => void, makeError: () => Error) {
    super();
    this.#reader = body.getReader();
    this.#idleMs = idleMs;
    this.#abort = abort;
    this.#makeError = makeError;
  }

  override _read(): void {
    this.#timer = setTimeout(() => {
      this.#abort();
      this.destroy(this.#makeError());
    }, this.#idleMs);
    this.#reader.read().then(
      ({ done, value }) => {
        clearTimeout(this.#timer);
        if (this.destroyed) return;
        this.push(done ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      },
      (error: unknown) => {
        clearTimeout(this.#timer);
        if (!this.destroyed) this.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    // Cancelling releases the socket when the consumer gives up early.
    this.#reader.cancel().then(
      () => callback(error),
      () => callback(error),
    );
  }
}
