#!/usr/bin/env node
/**
 * The portal on its own (docker-compose): adapter-node's handler for the pages, and a streaming
 * reverse proxy to the broker for /api, /ga4gh, /auth (and /docs, /workflows), so the browser
 * sees one site and the session cookie stays same-site (see docs/login.md). The portal's server
 * calls the broker directly at BROKER_URL.
 *
 *   BROKER_URL=http://broker-api:8080 ORIGIN=https://imputation.example.org PORT=3000 node server.js
 *
 * The proxy is node:http piping both ways (no body is buffered; uploads and downloads stream),
 * forwarding the request as it came plus X-Forwarded-* so the broker's audit sees the client.
 */
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream';

const brokerUrl = new URL(process.env.BROKER_URL ?? '');
if (!process.env.BROKER_URL) {
  console.error('BROKER_URL is required: the broker this portal is a client of (e.g. http://broker-api:8080).');
  process.exit(2);
}
// The upload streams through the portal to the broker: no size limit there (every other form is
// limited by the portal itself, see src/hooks.server.ts).
process.env.BODY_SIZE_LIMIT ??= 'Infinity';
const { handler } = await import('./build/handler.js');

const PROXIED = ['/api', '/ga4gh', '/auth', '/docs', '/workflows'];
const proxied = (url = '/') => {
  const path = url.split(/[?#]/)[0];
  return PROXIED.some((p) => path === p || path.startsWith(`${p}/`));
};

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function proxy(req, res) {
  const headers = { ...req.headers };
  for (const h of HOP_BY_HOP) delete headers[h];
  headers.host = brokerUrl.host;
  const client = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${client}` : client;
  headers['x-forwarded-host'] ??= req.headers.host ?? '';
  headers['x-forwarded-proto'] ??= 'http';
  const send = brokerUrl.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(
    { protocol: brokerUrl.protocol, hostname: brokerUrl.hostname, port: brokerUrl.port, method: req.method, path: req.url, headers },
    (answer) => {
      const out = { ...answer.headers };
      for (const h of HOP_BY_HOP) delete out[h];
      res.writeHead(answer.statusCode ?? 502, out);
      pipeline(answer, res, () => {});
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ msg: 'The broker cannot be reached right now; try again in a moment.', status_code: 502 }));
    } else res.destroy();
  });
  pipeline(req, upstream, () => {});
}

const server = createServer((req, res) => (proxied(req.url) ? proxy(req, res) : handler(req, res)));
const port = Number(process.env.PORT ?? 3000);
server.listen(port, process.env.HOST ?? '0.0.0.0', () => console.log(`portal on :${port}, broker at ${brokerUrl.origin}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
