/**
 * Baseline for the read benchmarks: a bare Hono app on @hono/node-server answering a fixed JSON
 * body, in its own process like the broker. Prints {url, pid}. `GET /file?path=...` streams a file
 * (1 MiB reads, no authentication, no database): the floor under the broker's DRS downloads.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createReadStream } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

const body = { run_id: '00000000-0000-4000-8000-000000000000', state: 'COMPLETE', tags: {} };
const app = new Hono();
app.get('/file', (c) => {
  const stream = createReadStream(c.req.query('path') ?? '', { highWaterMark: 1024 * 1024 });
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { headers: { 'content-type': 'application/octet-stream' } });
});
app.get('*', (c) => c.json(body, 200));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${info.port}`, pid: process.pid }));
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
