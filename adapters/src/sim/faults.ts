/**
 * Fault injection shared by the WES and DNAstack simulators: latency, 500s, dropped connections,
 * a node that is down, maintenance, and rate limiting with `Retry-After`, all switchable at run
 * time. It runs before every route, downloads included.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { HttpBindings } from '@hono/node-server';

export interface Faults {
  latencyMs: number;
  /** Fraction of requests answered with 500. */
  errorRate: number;
  /** Fraction of connections destroyed without any response. */
  dropRate: number;
}

export interface RateLimit {
  /** Requests allowed per window; 0 refuses every request. */
  maxRequests: number;
  windowMs: number;
  /** Fixed `Retry-After` in seconds; default: the seconds until the window ends. */
  retryAfterSeconds?: number;
}

export interface FaultState {
  faults: Faults;
  rateLimit: RateLimit | null;
  /** Every connection is destroyed, as a node that crashed behind a load balancer. */
  down: boolean;
  maintenance: boolean;
}

export function createFaultState(init: Partial<Faults> & { rateLimit?: RateLimit | null; maintenance?: boolean } = {}): FaultState {
  return {
    faults: { latencyMs: init.latencyMs ?? 0, errorRate: init.errorRate ?? 0, dropRate: init.dropRate ?? 0 },
    rateLimit: init.rateLimit ?? null,
    down: false,
    maintenance: init.maintenance ?? false,
  };
}

export interface FaultResponses {
  /** The service's own error body (WES `{msg, status_code}`, eWES `WorkbenchApiError`...). */
  error(c: Context, status: 429 | 500 | 503, message: string): Response;
  maintenanceMessage: string;
}

export function faultMiddleware(
  state: FaultState,
  responses: FaultResponses,
  clock: { now(): number; random(): number },
): MiddlewareHandler<{ Bindings: HttpBindings }> {
  let windowStart = 0;
  let count = 0;
  return async (c: Context<{ Bindings: HttpBindings }>, next: Next) => {
    const drop = (): Response => {
      c.env?.incoming?.socket.destroy();
      return new Response(null, { status: 500 });
    };
    if (state.down) return drop();
    const f = state.faults;
    if (f.latencyMs > 0) await delay(f.latencyMs);
    if (f.dropRate > 0 && clock.random() < f.dropRate) return drop();
    const limit = state.rateLimit;
    if (limit) {
      const now = clock.now();
      if (now - windowStart >= limit.windowMs) {
        windowStart = now;
        count = 0;
      }
      count++;
      if (count > limit.maxRequests) {
        const seconds = limit.retryAfterSeconds ?? Math.max(1, Math.ceil((windowStart + limit.windowMs - now) / 1000));
        const res = responses.error(c, 429, 'Too Many Requests');
        res.headers.set('Retry-After', String(seconds));
        return res;
      }
    }
    if (f.errorRate > 0 && clock.random() < f.errorRate) return responses.error(c, 500, 'Internal Server Error');
    if (state.maintenance) {
      const res = responses.error(c, 503, responses.maintenanceMessage);
      res.headers.set('Retry-After', '60');
      return res;
    }
    await next();
  };
}
