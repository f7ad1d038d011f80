/** Starting the broker child and talking to it the way any client does. */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, removeDir, spawnJsonChild, stopChild, tempDir } from './proc';
import { fetchDevToken } from '../../src/dev/oidc';

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
export const devToken = fetchDevToken;

/** Claims of a JWT, unverified: only to learn who the broker will think the caller is. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
