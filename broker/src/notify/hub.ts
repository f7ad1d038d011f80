/**
 * The event hub of one broker process: one dedicated PostgreSQL connection LISTENs on
 * `run_events` and fans every new event out to this process's subscribers (SSE streams), so an
 * event written by any replica reaches every stream on every replica.
 *
 * A notification carries only an event id. The hub reads new rows once per notification batch
 * (`id > last seen`, in id order, which is commit order: see migration 0006), never once per
 * subscriber. When the connection drops (PostgreSQL restarted, a network blip) the hub reconnects
 * with exponential backoff and then reads everything it missed from the table, so subscribers see
 * no gap. Subscribers are bounded per process and per user, and each one's queue is bounded: a
 * client that does not read is dropped (it resumes with `Last-Event-ID`), never buffered for.
 */
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { ownerKey } from '../auth/principal';
import type { Logger } from '../logging';
import { eventsAfter, lastEventId, type RunEvent } from './events';

export type EndReason = 'overflow' | 'shutdown' | 'closed';

/**
 * What `next` gives: queued events; `behind` (the queue overflowed while the client was keeping
 * up, in a burst: read the rest from the table); or why the subscription ended.
 */
export type NextResult = RunEvent[] | 'timeout' | 'behind' | EndReason;

export class HubFullError extends Error {
  constructor(
    readonly scope: 'process' | 'user',
    message: string,
  ) {
    super(message);
    this.name = 'HubFullError';
  }
}

/**
 * One stream's view of the hub: a bounded queue of the owner's events. When the queue is full,
 * it is emptied: if the stream's current write has been waiting for longer than `stallMs`, the
 * client is not reading and the subscription ends (`overflow`); otherwise it was only a burst,
 * and the stream reads what it missed from the table (`behind`). Either way no more than `limit`
 * events are ever held for one client.
 */
export class Subscription {
  private queue: RunEvent[] = [];
  private ended: EndReason | null = null;
  private behind = false;
  private writingSince: number | null = null;
  private waiter: (() => void) | null = null;
  /** Called once when the subscription ends for overflow (the stream then has a grace period to say so). */
  onOverflow: (() => void) | null = null;

  constructor(
    readonly key: string,
    private readonly limit: number,
    private readonly stallMs: number,
    private readonly detach: (s: Subscription) => void,
  ) {}

  get endReason(): EndReason | null {
    return this.ended;
  }

  /** Called by the hub for each of the owner's events, in id order. */
  push(e: RunEvent): void {
    if (this.ended) return;
    if (this.behind || this.queue.length >= this.limit) {
      this.queue = [];
      if (this.writingSince !== null && Date.now() - this.writingSince >= this.stallMs) {
        this.end('overflow');
        this.onOverflow?.();
        return;
      }
      if (!this.behind) {
        this.behind = true;
        this.wake();
      }
      return;
    }
    this.queue.push(e);
    this.wake();
  }

  /** The stream is writing (true) or has written (false): how the hub tells a slow client from a burst. */
  writing(busy: boolean): void {
    this.writingSince = busy ? Date.now() : null;
  }

  /** The stream is about to read what it missed from the table: live events queue again from now. */
  resync(): void {
    this.behind = false;
    this.queue = [];
  }

  /** The queued events, or why there are none, waiting at most `timeoutMs`. */
  async next(timeoutMs: number): Promise<NextResult> {
    if (this.queue.length === 0 && !this.ended && !this.behind) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, timeoutMs);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        };
      });
    }
    if (this.ended) return this.ended;
    if (this.behind) return 'behind';
    if (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      return batch;
    }
    return 'timeout';
  }

  /** Ends the subscription (idempotent); it leaves the hub at once. */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = reason;
    this.queue = [];
    this.detach(this);
    this.wake();
  }

  private wake(): void {
    this.waiter?.();
  }
}

export interface HubOptions {
  connectionString: string;
  /** Where rows are read (the broker's pool); the LISTEN connection does nothing but listen. */
  db: Pick<DataSource, 'query'>;
  log: Logger;
  maxClients: number;
  maxClientsPerUser: number;
  /** Events one subscriber may have queued. */
  clientBuffer: number;
  /** A client whose write has waited this long while its queue overflows is dropped. */
  clientTimeoutMs: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface HubStats {
  connected: boolean;
  subscribers: number;
  lastSeenId: number;
  reconnects: number;
}

const READ_BATCH = 1000;

export class EventHub {
  private client: pg.Client | null = null;
  private connected = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private reconnects = 0;
  private lastSeen = 0;
  /** Highest id announced and not yet read. */
  private announced = 0;
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private readonly byOwner = new Map<string, Set<Subscription>>();
  private count = 0;
  private readonly listeners: ((lastId: number) => void)[] = [];

  constructor(private readonly o: HubOptions) {}

  /** Reads where the events stand, then connects and listens; a failed connection is retried in the background. */
  async start(): Promise<void> {
    this.lastSeen = await lastEventId(this.o.db);
    this.announced = this.lastSeen;
    await this.connect();
  }

  /** The id a stream starting now continues from. */
  get lastSeenId(): number {
    return this.lastSeen;
  }

  stats(): HubStats {
    return { connected: this.connected, subscribers: this.count, lastSeenId: this.lastSeen, reconnects: this.reconnects };
  }

  /** Called after new events were seen (any owner): the delivery dispatcher's wake-up. */
  onEvents(listener: (lastId: number) => void): void {
    this.listeners.push(listener);
  }

  subscribe(owner: { issuer: string; subject: string }): Subscription {
    if (this.closed) throw new HubFullError('process', 'The broker is shutting down; reconnect in a moment.');
    if (this.count >= this.o.maxClients) {
      throw new HubFullError('process', `This broker process already serves ${this.o.maxClients} event streams; try again in a moment.`);
    }
    const key = ownerKey(owner);
    const mine = this.byOwner.get(key) ?? new Set<Subscription>();
    if (mine.size >= this.o.maxClientsPerUser) {
      throw new HubFullError('user', `You already have ${mine.size} event streams open here (at most ${this.o.maxClientsPerUser}); close one first.`);
    }
    const sub = new Subscription(key, this.o.clientBuffer, this.o.clientTimeoutMs, (s) => this.detach(s));
    mine.add(sub);
    this.byOwner.set(key, mine);
    this.count++;
    return sub;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const subs of [...this.byOwner.values()]) for (const s of [...subs]) s.end('shutdown');
    const client = this.client;
    this.client = null;
    this.connected = false;
    await client?.end().catch(() => {});
    await this.reading?.catch(() => {});
  }

  private detach(s: Subscription): void {
    const mine = this.byOwner.get(s.key);
    if (!mine?.delete(s)) return;
    this.count--;
    if (mine.size === 0) this.byOwner.delete(s.key);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.o.connectionString, application_name: 'ibroker-events' });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = null;
        this.connected = false;
      }
      client.end().catch(() => {});
      if (!this.closed) {
        this.o.log.warn({ err: err?.message }, 'event listener lost its PostgreSQL connection; reconnecting');
        this.scheduleReconnect();
      }
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== 'run_events') return;
      const id = Number(msg.payload);
      if (Number.isSafeInteger(id) && id > this.announced) this.announced = id;
      this.read();
    });
    try {
      await client.connect();
      await client.query('LISTEN run_events');
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (this.closed || lost) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.connected = true;
    if (this.failures > 0) {
      this.reconnects++;
      this.o.log.info({ after: this.failures }, 'event listener reconnected');
    }
    this.failures = 0;
    // Whatever happened while nobody listened is in the table.
    this.announced = Math.max(this.announced, await lastEventId(this.o.db).catch(() => this.announced));
    this.read();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const min = this.o.reconnectMinMs ?? 100;
    const max = this.o.reconnectMaxMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** Math.min(this.failures, 16)) * (0.8 + Math.random() * 0.4);
    this.failures++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Reads new events (one reader at a time; a notification during a read asks for another). */
  private read(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readNew()
      .catch((err) => {
        this.o.log.warn({ err: (err as Error).message }, 'reading new run events failed; trying again');
        this.readAgain = true;
        return new Promise<void>((r) => setTimeout(r, 500).unref());
      })
      .finally(() => {
        this.reading = null;
        if (this.readAgain && !this.closed) {
          this.readAgain = false;
          this.read();
        }
      });
  }

  private async readNew(): Promise<void> {
    if (this.announced <= this.lastSeen) return;
    if (this.count === 0) {
      // Nobody to tell: a stream that starts later replays from the table anyway.
      this.lastSeen = this.announced;
    } else {
      for (;;) {
        const events = await eventsAfter(this.o.db, this.lastSeen, READ_BATCH);
        for (const e of events) {
          const subs = this.byOwner.get(ownerKey({ issuer: e.ownerIssuer, subject: e.ownerSubject }));
          if (subs) for (const s of [...subs]) s.push(e);
          this.lastSeen = e.id;
        }
        if (events.length < READ_BATCH || this.closed) break;
      }
    }
    for (const l of this.listeners) {
      try {
        l(this.lastSeen);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'event listener callback failed');
      }
    }
  }
}
