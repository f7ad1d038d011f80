/**
 * What the notification tests use: an SSE client over real HTTP, a webhook receiver on loopback,
 * and runs written straight into PostgreSQL, so the triggers produce events on demand. Such a run
 * is leased to nobody for a day, so the run engine never touches it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { ownerKey } from '../auth/principal';

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Parses an SSE byte stream the way EventSource does (the parts these tests need). */
export class SseParser {
  private buffer = '';
  private id: string | null = null;
  private event = '';
  private data: string[] = [];
  readonly comments: string[] = [];
  retry: number | null = null;

  feed(text: string, emit: (m: SseMessage) => void): void {
    this.buffer += text;
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) return;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length) emit({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        this.id = null;
        continue;
      }
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id') this.id = value;
      else if (field === 'retry') this.retry = Number(value);
    }
  }
}

export interface SseStream {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  parser: SseParser;
  /** Resolves with the messages so far once `done(messages)` holds; rejects after `timeoutMs`. */
  until(done: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<SseMessage[]>;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

/** GET an event stream; `headers` carry the token, a cookie or Last-Event-ID. */
export async function openStream(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const messages: SseMessage[] = [];
  const parser = new SseParser();
  const waiters = new Set<() => void>();
  let endedResolve!: () => void;
  const ended = new Promise<void>((r) => (endedResolve = r));
  if (res.body && res.headers.get('content-type')?.startsWith('text/event-stream')) {
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(chunk, { stream: true }), (m) => messages.push(m));
          for (const w of [...waiters]) w();
        }
      } catch {
        // aborted by close()
      } finally {
        endedResolve();
        for (const w of [...waiters]) w();
      }
    })();
  } else {
    endedResolve();
  }
  let isEnded = false;
  void ended.then(() => (isEnded = true));
  return {
    status: res.status,
    headers: res.headers,
    messages,
    parser,
    ended,
    until(done, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (done(messages)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(messages);
          } else if (isEnded) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`stream ended before the condition held; got ${messages.length} messages: ${JSON.stringify(messages.slice(-5))}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`condition not met within ${timeoutMs} ms; got ${messages.length} messages: ${JSON.stringify(messages.slice(-5))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      abort.abort();
    },
  };
}

export interface EventData {
  id: number;
  type: string;
  run_id: string;
  state: string;
  previous_state?: string;
  progress: number | null;
  terminal: boolean;
  backend_id: string | null;
  at: string;
}

export const runEvents = (messages: SseMessage[]): EventData[] =>
  messages.filter((m) => m.event === 'run.state' || m.event === 'run.progress').map((m) => JSON.parse(m.data) as EventData);

export interface Owner {
  issuer: string;
  subject: string;
}

/** A run row written directly (the trigger gives its QUEUED event); the run engine leaves it alone. */
export async function insertRun(ds: DataSource, owner: Owner, o: { state?: string; backendId?: string } = {}): Promise<string> {
  const id = randomUUID();
  await ds.query(
    `INSERT INTO runs (id, owner_key, owner_issuer, owner_subject, state, request, params, requested_backend, backend_id,
                       password_enc, lease_owner, lease_until)
     VALUES ($1, $2, $3, $4, $5, '{}', '{}', 'auto', $6, 'v1.none.x.y.z', 'test', now() + interval '1 day')`,
    [id, ownerKey(owner), owner.issuer, owner.subject, o.state ?? 'QUEUED', o.backendId ?? 'mis2'],
  );
  return id;
}

export async function setRun(ds: DataSource, runId: string, patch: { state?: string; progress?: number | null }): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [runId];
  if (patch.state !== undefined) {
    params.push(patch.state);
    sets.push(`state = $${params.length}`);
  }
  if (patch.progress !== undefined) {
    params.push(patch.progress);
    sets.push(`progress = $${params.length}`);
  }
  await ds.query(`UPDATE runs SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, params);
}

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** When the request arrived, and when its connection closed (a hanging one is closed by the broker). */
  receivedAt: number;
  closedAt: number | null;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** How to answer: a status code, or 'hang' to never answer. Per path; default 204. */
  behave(path: string, how: number | 'hang'): void;
  until(done: (requests: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const behaviour = new Map<string, number | 'hang'>();
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const record: ReceivedRequest = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now(), closedAt: null };
      requests.push(record);
      res.on('close', () => (record.closedAt = Date.now()));
      const how = behaviour.get(path) ?? 204;
      if (how === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(how).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    behave: (path, how) => behaviour.set(path, how),
    async until(done, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (done(requests)) return requests;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`webhook receiver: condition not met within ${timeoutMs} ms; ${requests.length} requests: ${requests.map((r) => r.path).join(', ')}`);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}

/** Polls `fn` until it returns something truthy. */
export async function until<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
