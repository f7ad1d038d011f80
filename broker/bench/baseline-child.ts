/**
 * Baseline for the read benchmark: a bare Hono app on @hono/node-server answering a fixed JSON
 * body, in its own process like the broker. Prints {url, pid}.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';

const body = { run_id: '00000000-0000-4000-8000-000000000000', state: 'COMPLETE', tags: {} };
const app = new Hono();
app.get('*', (c) => c.json(body, 200));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${info.port}`, pid: process.pid }));
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
