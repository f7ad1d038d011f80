/**
 * Where the contract suite's inputs live when a backend fetches them itself: a loopback HTTP
 * server with each file at a URL and as a GA4GH DRS object (`/ga4gh/drs/v1/objects/<id>`, its
 * https access method behind an `access_id`, as a DRS server handing out signed URLs does).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedInput {
  url: string;
  drsUri: string;
}

export interface InputServer {
  url: string;
  /** Serves `path` under `name`; returns its URL and DRS URI. */
  add(path: string, name: string): Promise<ServedInput>;
  /** Paths requested so far, to tell which route a backend used. */
  requests: string[];
  close(): Promise<void>;
}

interface Entry {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

export async function startInputServer(): Promise<InputServer> {
  const entries = new Map<string, Entry>();
  const requests: string[] = [];
  let origin = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const file = /^\/files\/([^/]+)\/[^/]+$/.exec(path);
    if (file) {
      const e = entries.get(file[1] ?? '');
      if (!e) return send(404, { msg: 'no such file', status_code: 404 });
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(e.size) });
      return void createReadStream(e.path).pipe(res);
    }
    const access = /^\/ga4gh\/drs\/v1\/objects\/([^/]+)\/access\/([^/]+)$/.exec(path);
    if (access) {
      const e = entries.get(access[1] ?? '');
      if (!e || access[2] !== 'https') return send(404, { msg: 'no such access method', status_code: 404 });
      return send(200, { url: `${origin}/files/${access[1]}/${e.name}`, headers: [] });
    }
    const object = /^\/ga4gh\/drs\/v1\/objects\/([^/]+)$/.exec(path);
    if (object) {
      const id = object[1] ?? '';
      const e = entries.get(id);
      if (!e) return send(404, { msg: 'no such object', status_code: 404 });
      return send(200, {
        id,
        name: e.name,
        self_uri: `drs://${new URL(origin).host}/${id}`,
        size: e.size,
        created_time: '2025-10-16T10:00:00Z',
        mime_type: 'application/gzip',
        checksums: [{ type: 'sha-256', checksum: e.sha256 }],
        access_methods: [{ type: 'https', access_id: 'https' }],
      });
    }
    send(404, { msg: 'not found', status_code: 404 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    requests,
    async add(path, name) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
      const id = randomUUID();
      entries.set(id, { path, name, size: (await stat(path)).size, sha256: hash.digest('hex') });
      return { url: `${origin}/files/${id}/${encodeURIComponent(name)}`, drsUri: `drs://${new URL(origin).host}/${id}` };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
