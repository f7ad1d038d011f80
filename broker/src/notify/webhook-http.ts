/**
 * Webhook URLs and the signed POST that delivers an event to one.
 *
 * SSRF: a webhook URL must be https and its host must resolve to public addresses only, unless the
 * operator allows http and private targets (`WEBHOOK_ALLOW_PRIVATE`). The host is checked when the
 * webhook is registered (a clear 400) and again at every delivery, at connect time, on the very
 * addresses the socket connects to: DNS may have changed since (rebinding), and checking a name
 * first and connecting to it later would leave that gap open.
 *
 * Signature: `X-Broker-Signature: sha256=<hex HMAC-SHA-256(secret, "<timestamp>.<body>")>` with
 * `X-Broker-Timestamp: <unix seconds>`. A receiver recomputes it over the raw body, compares in
 * constant time and refuses timestamps older than a few minutes (replays).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { badRequest } from '../http/errors';
import { assertPublicHost, isPrivateAddress } from '../runs/inputs';

export const SIGNATURE_HEADER = 'X-Broker-Signature';
export const TIMESTAMP_HEADER = 'X-Broker-Timestamp';
export const EVENT_HEADER = 'X-Broker-Event';
export const DELIVERY_HEADER = 'X-Broker-Delivery';
export const MAX_WEBHOOK_URL = 2048;

/** A new webhook secret: 32 random bytes, prefixed so it is recognisable in a secret scanner. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** `sha256=<hex>` of `<timestamp>.<body>` under the webhook's secret. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * Checks a URL a user wants events POSTed to; throws a 400 saying what is wrong. Messages do not
 * repeat the URL: receivers often carry a token in it.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  if (raw.length > MAX_WEBHOOK_URL) throw badRequest(`url: a webhook URL has at most ${MAX_WEBHOOK_URL} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badRequest('url: not an absolute URL; give one such as https://hooks.example.org/imputation');
  }
  if (u.protocol !== 'https:' && !(allowPrivate && u.protocol === 'http:')) {
    throw badRequest(
      allowPrivate ? 'url: a webhook URL must use https or http' : 'url: a webhook URL must use https (plain http is refused on this broker)',
    );
  }
  if (u.username || u.password) throw badRequest('url: a webhook URL must not carry a user name or password; the broker signs every request instead');
  if (u.hash) throw badRequest('url: a webhook URL has no #fragment');
  if (!allowPrivate) await assertPublicHost(u, 'the webhook URL');
  return u;
}

export class PrivateAddressError extends Error {
  constructor(address: string) {
    super(`the webhook host now resolves to a private address (${address}); delivery refused`);
    this.name = 'PrivateAddressError';
  }
}

/** `dns.lookup` that refuses private addresses: the check happens on what is connected to. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new PrivateAddressError(bad.address), '', 0);
    if (addresses.length === 0) return callback(new Error(`${hostname} has no address`), '', 0);
    // Node asks for one address or for all (happy eyeballs); answer in the form asked for.
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

export interface PostOutcome {
  ok: boolean;
  /** HTTP status when the endpoint answered. */
  status: number | null;
  /** What went wrong when it did not answer (or answered with something other than 2xx). */
  error: string | null;
  durationMs: number;
}

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  headers: Record<string, string>;
}

/**
 * POSTs `body`; resolves (never rejects) with the outcome. The whole exchange, connect included,
 * is cut off after `timeoutMs`: an endpoint that hangs costs one slot for that long, nothing more.
 * Redirects are not followed (a 3xx is a failed attempt): the signature was made for this URL.
 */
export function postWebhook(url: string, body: string, o: PostOptions): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Omit<PostOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...outcome, durationMs: elapsed() });
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve({ ok: false, status: null, error: 'the webhook URL is not valid', durationMs: 0 });
      return;
    }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (!o.allowPrivate && isIP(host) && isPrivateAddress(host)) {
      resolve({ ok: false, status: null, error: new PrivateAddressError(host).message, durationMs: 0 });
      return;
    }
    if (!o.allowPrivate && u.protocol !== 'https:') {
      resolve({ ok: false, status: null, error: 'the webhook URL is not https; delivery refused', durationMs: 0 });
      return;
    }
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(u, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'imputation-broker-webhooks/0.1', ...o.headers },
      ...(o.allowPrivate ? {} : { lookup: publicOnlyLookup }),
    });
    const timer = setTimeout(() => done({ ok: false, status: null, error: `no answer within ${o.timeoutMs} ms; cut off` }), o.timeoutMs);
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      res.resume();
      const ok = status >= 200 && status < 300;
      done({ ok, status, error: ok ? null : `the endpoint answered HTTP ${status}` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err instanceof PrivateAddressError ? err.message : `${err.code ?? 'error'}: ${err.message}`;
      done({ ok: false, status: null, error: why.slice(0, 500) });
    });
    req.end(body);
  });
}
