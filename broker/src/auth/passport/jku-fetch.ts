/**
 * Fetching a key set named by a token's `jku` header. The allow-list (trust.ts) already limits
 * which URLs may be named; this module makes sure such a URL cannot be turned against the
 * broker's own network: by default only https, and never a loopback, private, link-local (cloud
 * metadata) or otherwise non-public address. The address is checked when the connection is made
 * (in the socket's DNS lookup), so a name that resolves to a public address at check time and to
 * 10.0.0.1 a moment later (DNS rebinding) is still refused. No redirects; the body is capped.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { FetchImplementation } from 'jose';

/** Addresses a `jku` must never reach: RFC 6890 special-purpose ranges, loopback included. */
const nonPublic = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv6');
}

/** True for loopback, private, link-local, reserved... (IPv4-mapped IPv6 included). */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The URL's host as an IP literal (brackets removed), or null for a name. */
export function ipLiteral(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? null : host;
}

/** `localhost` or a loopback literal: the only hosts plain http may be used for, and only in tests. */
export function isLoopbackHost(url: URL): boolean {
  const ip = ipLiteral(url);
  if (ip === null) return url.hostname === 'localhost';
  return ip === '::1' || (isIP(ip) === 4 && ip.startsWith('127.'));
}

/** The `jku` host is, or resolved to, an address that is not public. */
export class BlockedAddressError extends Error {
  constructor(readonly host: string) {
    super(`the key set host ${host} is not a public address`);
    this.name = 'BlockedAddressError';
  }
}

export interface JkuFetchOptions {
  /** Loopback and private addresses are allowed (tests, or a deliberately internal key server). */
  allowPrivateAddresses: boolean;
  /** Largest key set accepted, in bytes. */
  maxBytes: number;
}

const guardedLookup =
  (host: string): LookupFunction =>
  (hostname, options: LookupOptions, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      if (addresses.length === 0 || addresses.some((a) => isNonPublicAddress(a.address))) {
        callback(new BlockedAddressError(host), '', 0);
        return;
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
    });
  };

/** A `fetch` for jose's `createRemoteJWKSet` that enforces the rules above. */
export function jkuFetch(options: JkuFetchOptions): FetchImplementation {
  return (href, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(href);
      const literal = ipLiteral(url);
      if (!options.allowPrivateAddresses && literal !== null && isNonPublicAddress(literal)) {
        reject(new BlockedAddressError(url.host));
        return;
      }
      const headers: Record<string, string> = {};
      init.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'GET',
          headers,
          signal: init.signal,
          // No pooled sockets: each one is checked when it connects, and key sets are fetched rarely.
          agent: false,
          ...(options.allowPrivateAddresses ? {} : { lookup: guardedLookup(url.host) }),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > options.maxBytes) {
              res.destroy(new Error(`the key set is larger than ${options.maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const contentType = res.headers['content-type'];
            const status = res.statusCode ?? 502;
            // Redirects are not followed (jose asks for redirect: 'manual'): a 3xx is just not a 200.
            resolve(
              new Response(status === 200 ? Buffer.concat(chunks) : null, {
                status: status >= 200 && status <= 599 ? status : 502,
                headers: contentType === undefined ? {} : { 'content-type': contentType },
              }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
}
