/**
 * Run events as stored (`run_events`, written by the triggers of migration 0006) and as every
 * channel shows them: the SSE stream, webhook bodies and e-mails all use `eventView`.
 */
import { TERMINAL_STATES, type WesState } from '@ibroker/adapters/types';
import type { DataSource } from 'typeorm';
import { returned } from '../db/returning';

export const EVENT_TYPES = ['run.state', 'run.progress'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface RunEvent {
  id: number;
  runId: string;
  ownerIssuer: string;
  ownerSubject: string;
  type: EventType;
  state: WesState;
  progress: number | null;
  at: Date;
  data: { backend_id?: string; previous_state?: string };
}

/** The JSON every channel sends. */
export interface RunEventView {
  id: number;
  type: EventType;
  run_id: string;
  state: WesState;
  /** The state before this change (state events of an existing run only). */
  previous_state?: string;
  progress: number | null;
  /** COMPLETE, EXECUTOR_ERROR, SYSTEM_ERROR, CANCELED or PREEMPTED: nothing follows. */
  terminal: boolean;
  backend_id: string | null;
  /** RFC 3339, milliseconds. */
  at: string;
}

export function eventView(e: RunEvent): RunEventView {
  return {
    id: e.id,
    type: e.type,
    run_id: e.runId,
    state: e.state,
    ...(e.data.previous_state ? { previous_state: e.data.previous_state } : {}),
    progress: e.progress,
    terminal: e.type === 'run.state' && TERMINAL_STATES.has(e.state),
    backend_id: e.data.backend_id ?? null,
    at: e.at.toISOString(),
  };
}

interface EventRow {
  id: string;
  run_id: string;
  owner_issuer: string;
  owner_subject: string;
  type: EventType;
  state: WesState;
  progress: number | null;
  at: Date;
  data: RunEvent['data'];
}

export const EVENT_COLUMNS = 'id, run_id, owner_issuer, owner_subject, type, state, progress, at, data';

export function eventFromRow(r: EventRow): RunEvent {
  return {
    id: Number(r.id),
    runId: r.run_id,
    ownerIssuer: r.owner_issuer,
    ownerSubject: r.owner_subject,
    type: r.type,
    state: r.state,
    progress: r.progress,
    at: r.at,
    data: r.data ?? {},
  };
}

type Queryable = Pick<DataSource, 'query'>;

/** Every owner's events after `afterId`, oldest first. */
export async function eventsAfter(db: Queryable, afterId: number, limit: number): Promise<RunEvent[]> {
  const rows = await db.query(`SELECT ${EVENT_COLUMNS} FROM run_events WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
  return returned<EventRow>(rows).map(eventFromRow);
}

/** One owner's events after `afterId`, oldest first (a stream's replay). */
export async function ownerEventsAfter(
  db: Queryable,
  owner: { issuer: string; subject: string },
  afterId: number,
  limit: number,
): Promise<RunEvent[]> {
  const rows = await db.query(
    `SELECT ${EVENT_COLUMNS} FROM run_events WHERE owner_subject = $1 AND owner_issuer = $2 AND id > $3 ORDER BY id LIMIT $4`,
    [owner.subject, owner.issuer, afterId, limit],
  );
  return returned<EventRow>(rows).map(eventFromRow);
}

export async function eventById(db: Queryable, id: number): Promise<RunEvent | null> {
  const rows = returned<EventRow>(await db.query(`SELECT ${EVENT_COLUMNS} FROM run_events WHERE id = $1`, [id]));
  return rows[0] ? eventFromRow(rows[0]) : null;
}

export async function lastEventId(db: Queryable): Promise<number> {
  const rows = returned<{ id: string | null }>(await db.query(`SELECT max(id) AS id FROM run_events`));
  return Number(rows[0]?.id ?? 0);
}

/**
 * Deletes events older than `days` (their deliveries and attempts go with them), in batches so
 * no statement holds many row locks for long. Returns how many were deleted.
 */
export async function pruneEvents(db: Queryable, days: number, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await db.query(
      `DELETE FROM run_events WHERE id IN (
         SELECT id FROM run_events WHERE at < now() - ($1::int * interval '1 day') ORDER BY id LIMIT $2)`,
      [days, batch],
    );
    const n = Array.isArray(res) && typeof res[1] === 'number' ? res[1] : 0;
    total += n;
    if (n < batch) return total;
  }
}
