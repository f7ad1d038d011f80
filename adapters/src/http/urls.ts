/**
 * Which URLs may receive our credentials, and which a backend may make us fetch.
 *
 * A bearer token goes only where it was issued for: the service's own origin. URLs that carry
 * their own credentials (pre-signed S3, signed GCS, Azure SAS) get none, because a second
 * credential makes S3 refuse the request and would hand our token to a storage provider.
 */
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

const SIGNATURE_PARAMS = ['x-amz-signature', 'x-amz-credential', 'x-goog-signature', 'x-goog-credential', 'signature', 'sig', 'se', 'token'];

/** A URL signed by its storage provider: it authorizes itself. */
export function carriesOwnCredentials(url: URL): boolean {
  for (const key of url.searchParams.keys()) {
    if (SIGNATURE_PARAMS.includes(key.toLowerCase())) return true;
  }
  return url.username !== '' || url.password !== '';
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 127], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return true;
  return PRIVATE.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * True when `url` points into a private, loopback or link-local network. A backend that lists
 * `http://169.254.169.254/...` as an "output" would otherwise make the broker fetch the cloud
 * metadata service and serve it as a result (SSRF). Names are resolved; an unresolvable name
 * counts as private, so it is refused rather than fetched blind.
 */
export async function pointsToPrivateNetwork(url: URL): Promise<boolean> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host)) return isPrivateAddress(host);
  const addresses = await lookup(host, { all: true }).catch(() => []);
  if (addresses.length === 0) return true;
  return addresses.some((a) => isPrivateAddress(a.address));
}
