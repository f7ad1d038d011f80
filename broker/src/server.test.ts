import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { createLogger } from './logging';
import { startBroker, type BrokerHandle } from './server';
import { createTestDatabase } from './testing/db';

describe('startBroker with a real identity provider configured', () => {
  let broker: BrokerHandle;
  let drop: () => Promise<void>;
  let dataDir: string;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    dataDir = mkdtempSync(join(tmpdir(), 'server-'));
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DEMO: 'true',
      OIDC_ISSUER: 'https://login.example.org/oidc',
      LOG_LEVEL: 'silent',
    });
    broker = await startBroker({ config, log: createLogger('silent'), backends: [] });
  });
  afterAll(async () => {
    await broker?.close();
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('does not run the dev OIDC provider when OIDC_ISSUER is set, even with DEMO=true', async () => {
    expect(broker.devOidc).toBeNull();
    const res = await fetch(`${broker.url}/oidc/.well-known/openid-configuration`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status_code: 404 });
  });

  it('refuses tokens it cannot verify with 401 or 503, never 500', async () => {
    const res = await fetch(`${broker.url}/ga4gh/wes/v1/runs`, { headers: { Authorization: 'Bearer a.b.c' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('serves service-info, health and readiness without any backend', async () => {
    expect((await fetch(`${broker.url}/ga4gh/wes/v1/service-info`)).status).toBe(200);
    expect(await (await fetch(`${broker.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });
});
