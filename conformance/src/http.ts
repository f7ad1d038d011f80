/** HTTP as any GA4GH client does it: JSON in, JSON out, over real sockets. */
import { request as httpRequest } from 'node:http';

export interface JsonResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or the raw text when it is not JSON (the contract checks report that). */
  body: unknown;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

/** fetch() with an optional bearer token; the body parsed as JSON when it is JSON. */
export async function call(url: string, token: string | null, init: RequestInit = {}): Promise<JsonResponse> {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, headers: res.headers, body: parse(await res.text()) };
}

/**
 * A request fetch() refuses to make: a GET with a body. Python `requests.request('GET', url,
 * json={})`, as the GA4GH DRS compliance suite calls every endpoint, sends `{}` with
 * `Content-Type: application/json` even on GET.
 */
export function rawRequest(url: string, o: { method: string; headers?: Record<string, string>; body?: string }): Promise<JsonResponse> {
  return new Promise((resolvePromise, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = { ...o.headers };
    if (o.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(o.body));
    const req = httpRequest({ hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: o.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) v.forEach((x) => h.append(k, x));
          else if (v !== undefined) h.set(k, v);
        }
        resolvePromise({ status: res.statusCode ?? 0, headers: h, body: parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}
