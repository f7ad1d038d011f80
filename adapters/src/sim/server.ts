/** Starting and stopping a simulator's Hono app on loopback, as the Cloudgene simulator does. */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export type FetchHandler = Parameters<typeof serve>[0]['fetch'];

export async function startServer(fetch: FetchHandler, port = 0, host = '127.0.0.1'): Promise<RunningServer> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch, port, hostname: host }, () => resolve(s));
  });
  const addr = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') server.closeAllConnections();
      }),
  };
}

/** The origin a client used to reach us (Host header), so absolute URLs work behind a proxy too. */
export function originOf(request: Request): string {
  const url = new URL(request.url);
  const host = request.headers.get('host');
  return host ? `${url.protocol}//${host}` : url.origin;
}
