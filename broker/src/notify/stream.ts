/**
 * One SSE connection: replay the caller's events after the id they already have (from the
 * table), then the live ones from the hub, without a gap or a duplicate between the two: the
 * subscription is registered before the replay is read, and every event is sent only if its id
 * is above the last one sent (ids are in commit order, migration 0006).
 *
 * Memory per connection is bounded by `SSE_CLIENT_BUFFER` events. A burst beyond that (a client
 * that keeps up) is read from the table instead. A client that stops reading makes the writes
 * wait (the HTTP response honours backpressure); when its events pile up beyond the buffer while
 * a write has waited `SSE_CLIENT_TIMEOUT_MS`, the hub drops it: the stream ends with an `overflow`
 * event naming the last id sent, and the connection is cut if even that cannot be written within
 * a grace period. The client reconnects with `Last-Event-ID` and gets the rest from the table.
 */
import type { SSEStreamingApi } from 'hono/streaming';
import type { DataSource } from 'typeorm';
import { eventView, ownerEventsAfter, type RunEvent } from './events';
import type { Subscription } from './hub';

const REPLAY_PAGE = 500;
/** What EventSource waits before reconnecting (`retry:`). */
export const RECONNECT_MS = 2000;

export interface PumpOptions {
  db: Pick<DataSource, 'query'>;
  owner: { issuer: string; subject: string };
  /** Send events with ids above this. */
  from: number;
  heartbeatMs: number;
  /** How long a dropped client has to take its final event before the connection is cut. */
  dropGraceMs: number;
  /** Cuts the connection (the socket), whatever is still buffered. */
  hardClose(): void;
}

export async function pumpEvents(stream: SSEStreamingApi, sub: Subscription, o: PumpOptions): Promise<void> {
  let cursor = o.from;
  let dropTimer: NodeJS.Timeout | null = null;
  sub.onOverflow = () => {
    dropTimer = setTimeout(o.hardClose, o.dropGraceMs);
    dropTimer.unref();
  };
  stream.onAbort(() => sub.end('closed'));
  const write = async (text: string) => {
    sub.writing(true);
    try {
      await stream.write(text);
    } finally {
      sub.writing(false);
    }
  };
  const send = async (e: RunEvent) => {
    await write(`event: ${e.type}\ndata: ${JSON.stringify(eventView(e))}\nid: ${e.id}\n\n`);
    cursor = e.id;
  };
  /** Everything after `cursor` from the table, a page at a time (each page awaits its writes). */
  const replay = async () => {
    for (;;) {
      const page = await ownerEventsAfter(o.db, o.owner, cursor, REPLAY_PAGE);
      for (const e of page) {
        if (sub.endReason || stream.aborted) return;
        await send(e);
      }
      if (page.length < REPLAY_PAGE) return;
    }
  };
  try {
    // Sent at once, so the client sees the stream open even when nothing happens for a while.
    await write(`retry: ${RECONNECT_MS}\n: connected\n\n`);
    await replay();
    while (!stream.aborted) {
      const next = await sub.next(o.heartbeatMs);
      if (next === 'timeout') {
        await write(': keep-alive\n\n');
      } else if (next === 'behind') {
        sub.resync();
        await replay();
      } else if (next === 'overflow') {
        const data = JSON.stringify({
          msg: 'This stream fell too far behind and was closed; reconnect with Last-Event-ID to get the rest.',
          last_event_id: cursor,
        });
        await stream.write(`event: overflow\ndata: ${data}\n\n`);
        break;
      } else if (next === 'shutdown' || next === 'closed') {
        break;
      } else {
        for (const e of next) if (e.id > cursor) await send(e);
      }
    }
  } finally {
    if (dropTimer) clearTimeout(dropTimer);
    sub.end('closed');
  }
}
