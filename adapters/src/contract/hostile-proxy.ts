/**
 * A loopback reverse proxy in front of a simulator that can turn hostile on command: answer
 * garbage JSON, an HTML page (200 or 502), an endless body, nothing at all, a reset, or 429. It
 * lets the contract suite put every adapter through the same network trouble, whatever its
 * simulator can do by itself. In `pass` mode it forwards bodies as streams, both ways.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyMode = 'pass' | 'garbage' | 'html' | 'html502' | 'huge' | 'hang' | 'reset' | 'rate-limit';

/** How much an endless body offers before giving up: far beyond any sane JSON cap. */
export const HUGE_BODY_BYTES = 96 * 1024 * 1024;
export const PROXY_RETRY_AFTER_SECONDS = 7;

export interface HostileProxy {
  url: string;
  mode: ProxyMode;
  /** Bytes of the last `huge` answer the client accepted before it hung up. */
  hugeBytesSent: number;
  /** Requests answered since the mode was last set. */
  hits: number;
  setMode(mode: ProxyMode): void;
  /** Stops listening and drops every connection: what a dead host looks like (ECONNREFUSED). */
  shutDown(): Promise<void>;
}

const LOGIN_PAGE = '<!DOCTYPE html><html><head><title>Sign in</title><script>var x=1;</script></head><body><h1>Single sign-on</h1><form>…</form></body></html>';
const BAD_GATEWAY = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export async function startHostileProxy(upstream: string): Promise<HostileProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const state: { mode: ProxyMode; hugeBytesSent: number; hits: number } = { mode: 'pass', hugeBytesSent: 0, hits: 0 };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstreamReq = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
      },
    );
    upstreamReq.on('error', () => res.destroy());
    req.pipe(upstreamReq);
  };

  const endless = async (res: ServerResponse): Promise<void> => {
    state.hugeBytesSent = 0;
    let closed = false;
    res.on('close', () => (closed = true));
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(256 * 1024, 0x5b); // '['
    while (!closed && state.hugeBytesSent < HUGE_BODY_BYTES) {
      state.hugeBytesSent += chunk.length;
      if (!res.write(chunk)) await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    res.end();
  };

  const server: Server = createServer((req, res) => {
    state.hits++;
    const mode = state.mode;
    if (mode === 'pass') return forward(req, res);
    // Read (and drop) the request body so an upload does not stall on backpressure.
    req.resume();
    switch (mode) {
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"run_id": "0b7e6a52", "state": "RUNN');
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(LOGIN_PAGE);
      case 'html502':
        res.writeHead(502, { 'content-type': 'text/html' });
        return res.end(BAD_GATEWAY);
      case 'huge':
        return void endless(res);
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'reset':
        return void req.socket.destroy();
      case 'rate-limit':
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(PROXY_RETRY_AFTER_SECONDS) });
        return res.end(JSON.stringify({ message: 'Too Many Requests' }));
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    get mode() {
      return state.mode;
    },
    get hugeBytesSent() {
      return state.hugeBytesSent;
    },
    get hits() {
      return state.hits;
    },
    setMode(mode) {
      state.mode = mode;
      state.hits = 0;
      // Whatever hung in the previous mode is released now, so no test leaves sockets behind.
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    async shutDown() {
      for (const res of hanging) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
