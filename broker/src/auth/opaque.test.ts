/**
 * Opaque access tokens from a real OIDC provider (oidc-provider issues opaque client-credentials
 * tokens when no resource is asked for), checked by RFC 7662 introspection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from './bearer';
import { AuthError } from './errors';

let server: Server;
let issuer: string;
let introspections = 0;

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function opaqueToken(): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { Authorization: basic('app', 'app-secret'), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

function verifier(opts: { endpoint?: string } = {}) {
  return createTokenVerifier({
    issuers: [
      {
        issuer,
        opaque: { introspection: { endpoint: opts.endpoint ?? `${issuer}/token/introspection`, clientId: 'broker', clientSecret: 'broker-secret' } },
      },
    ],
    fetchTimeoutMs: 2_000,
  });
}

async function refusal(p: Promise<unknown>): Promise<AuthError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AuthError);
    return e as AuthError;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      { client_id: 'app', client_secret: 'app-secret', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: 'broker', client_secret: 'broker-secret', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: () => true },
      revocation: { enabled: true },
      devInteractions: { enabled: false },
    },
  });
  const handler = provider.callback();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/token/introspection')) introspections++;
    handler(req, res);
  });
});
afterAll(() => {
  server?.close();
});

describe('opaque access tokens', () => {
  it('are accepted when introspection says active, as the client they were issued to, and cached', async () => {
    const token = await opaqueToken();
    expect(token.split('.')).toHaveLength(1);
    const v = verifier();
    const before = introspections;
    const principal = await v.verify(token);
    expect(principal).toMatchObject({ issuer, subject: 'app', clientId: 'app' });
    await v.verify(token);
    expect(introspections - before).toBe(1);
  });

  it('are refused once revoked, unknown or garbage, with a reason and no token in the message', async () => {
    const token = await opaqueToken();
    const revoked = await fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      headers: { Authorization: basic('app', 'app-secret'), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    expect(revoked.status).toBe(200);
    for (const t of [token, 'not-a-real-token-at-all']) {
      const e = await refusal(verifier().verify(t));
      expect(e.reason).toBe('expired');
      expect(e.message).not.toContain(t);
    }
  });

  it('an unreachable introspection endpoint is "try again", not a refusal of the token', async () => {
    const e = await refusal(verifier({ endpoint: 'http://127.0.0.1:9/introspect' }).verify(await opaqueToken()));
    expect(e.reason).toBe('jwks_unavailable');
  });

  it('without introspection configured, an opaque token is refused as malformed, nothing asked', async () => {
    const before = introspections;
    const plain = createTokenVerifier({ issuers: [{ issuer }] });
    expect((await refusal(plain.verify(await opaqueToken()))).reason).toBe('malformed');
    expect(introspections).toBe(before);
  });
});
