/**
 * The token check `flagExpiring` needs, for every configured Cloudgene backend: Cloudgene's own
 * anonymous `POST /api/v2/tokens/verify` (shared/backends/README.md §1.1), reached through the
 * adapter's client so timeouts and error handling are the adapter's.
 */
import { CloudgeneClient, verifyCloudgeneToken } from '@ibroker/adapters/cloudgene/index';
import type { BackendConfig } from '../config';
import type { VerifyToken } from './vault';

export function cloudgeneTokenCheck(backends: ReadonlyArray<Pick<BackendConfig, 'id' | 'kind' | 'url'>>, options: { timeoutMs?: number } = {}): VerifyToken {
  const clients = new Map<string, CloudgeneClient>();
  for (const b of backends) {
    if (b.kind !== 'cloudgene') continue;
    // The check is anonymous: the client never sends this (empty) token, only the one checked.
    clients.set(b.id, new CloudgeneClient({ baseUrl: b.url, token: '', ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) }));
  }
  return async (secret, { backendId }) => {
    const client = clients.get(backendId);
    if (!client) return null;
    const answer = await verifyCloudgeneToken(client, secret);
    return { valid: answer.valid, expiresAt: answer.expiresAt };
  };
}
