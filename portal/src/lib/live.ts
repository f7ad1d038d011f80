/**
 * The broker's event stream (GET /api/v1/events, Server-Sent Events) in the browser: the session
 * cookie goes with it (same origin), EventSource reconnects by itself with `Last-Event-ID`, so a
 * page sees every change of its runs without reloading. Pure parsing is separate from the
 * browser object so it can be tested.
 */
import type { components } from '@ibroker/api-spec/broker';

export type RunEvent = components['schemas']['RunEvent'];

export const EVENTS_PATH = '/api/v1/events';

/** The `data:` of a `run.state` or `run.progress` event, or null when it is not one. */
export function parseRunEvent(data: string): RunEvent | null {
  try {
    const e = JSON.parse(data) as Partial<RunEvent>;
    if (typeof e.run_id !== 'string' || typeof e.state !== 'string' || (e.type !== 'run.state' && e.type !== 'run.progress')) return null;
    return e as RunEvent;
  } catch {
    return null;
  }
}

export interface LiveRun {
  state: string;
  progress: number | null;
  at: string;
}

/** Folds one event into what a page shows of its runs (later events win; ids only grow). */
export function applyEvent(runs: Record<string, LiveRun>, e: RunEvent): Record<string, LiveRun> {
  const prev = runs[e.run_id];
  if (prev && prev.at > e.at) return runs;
  return { ...runs, [e.run_id]: { state: e.state, progress: e.progress ?? prev?.progress ?? null, at: e.at } };
}

/**
 * Opens the stream and calls `onEvent` for each run event; returns the function that closes it.
 * Without EventSource (very old browsers) it returns null and the page falls back to re-reading.
 */
export function subscribeRunEvents(onEvent: (e: RunEvent) => void, onOpen?: () => void): (() => void) | null {
  if (typeof EventSource === 'undefined') return null;
  const source = new EventSource(EVENTS_PATH);
  const handler = (m: MessageEvent<string>) => {
    const e = parseRunEvent(m.data);
    if (e) onEvent(e);
  };
  source.addEventListener('run.state', handler);
  source.addEventListener('run.progress', handler);
  if (onOpen) source.addEventListener('open', onOpen);
  return () => source.close();
}
