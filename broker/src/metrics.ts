/** Prometheus metrics: request latency, runs by state, backend calls and errors. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  runsFinished: Counter<'state'>;
  backendCalls: Histogram<'backend' | 'op' | 'outcome'>;
  backendErrors: Counter<'backend' | 'op' | 'kind'>;
  outputBytes: Counter<'backend'>;
  runsByState: Gauge<'state'>;
}

export function createMetrics(stateCounts: () => Promise<Record<string, number>>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'broker_http_request_duration_seconds',
      help: 'HTTP request latency by route template',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    runsFinished: new Counter({ name: 'broker_runs_finished_total', help: 'Runs that reached a terminal state', labelNames: ['state'], registers: [registry] }),
    backendCalls: new Histogram({
      name: 'broker_backend_call_duration_seconds',
      help: 'Calls to backends by operation and outcome',
      labelNames: ['backend', 'op', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers: [registry],
    }),
    backendErrors: new Counter({ name: 'broker_backend_errors_total', help: 'Failed backend calls by kind', labelNames: ['backend', 'op', 'kind'], registers: [registry] }),
    outputBytes: new Counter({ name: 'broker_output_bytes_total', help: 'Result bytes brought home', labelNames: ['backend'], registers: [registry] }),
    runsByState: new Gauge({
      name: 'broker_runs',
      help: 'Runs by WES state',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [state, n] of Object.entries(await stateCounts())) this.set({ state }, n);
      },
    }),
  };
}
