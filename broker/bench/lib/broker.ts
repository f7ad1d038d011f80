/** Starting the broker child and talking to it the way any client does. */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, removeDir, spawnJsonChild, stopChild, tempDir } from './proc';

export interface BrokerChildInfo {
  url: string;
  pid: number;
  databaseUrl: string | null;
  tokenEndpoint: string | null;
}

export interface BrokerChild {
  info: BrokerChildInfo;
  child: ChildProcess;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startBrokerChild(env: Record<string, string> = {}): Promise<BrokerChild> {
  const dataDir = tempDir('broker');
  try {
    const { child, info } = await spawnJsonChild<BrokerChildInfo>(join(ROOT, 'broker/bench/broker-child.ts'), [], {
      DATA_DIR: dataDir,
      ...env,
    });
    return {
      info,
      child,
      dataDir,
      async stop() {
        await stopChild(child);
        removeDir(dataDir);
      },
    };
  } catch (e) {
    removeDir(dataDir);
    throw e;
  }
}

/** A client-credentials access token from the demo's dev OIDC provider. */
export async function devToken(tokenEndpoint: string, client = 'demo-cli'): Promise<string> {
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'wes' }),
  });
  const json = (await res.json()) as { access_token?: string };
  if (!json.access_token) throw new Error(`no token from dev OIDC: ${JSON.stringify(json)}`);
  return json.access_token;
}

/** Claims of a JWT, unverified: only to learn who the broker will think the caller is. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
