/**
 * Real loopback servers for the auth tests: a node http server on port 0, and a minimal issuer
 * (discovery + JWKS) whose keys the test controls, so it can mint tokens a real IdP would never
 * hand out (expired, not yet valid, wrong audience, rotated keys) and count every request made
 * to it.
 */
import { createServer, type RequestListener, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function listen(listener: RequestListener, options: ServerOptions = {}): Promise<RunningServer> {
  const server = createServer(options, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newKey(alg: 'RS256' | 'ES256' = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

export interface TestIssuer extends RunningServer {
  issuer: string;
  /** Keys currently published at /jwks (mutable: replace to rotate). */
  published: SigningKey[];
  /** Requests seen, by path. */
  hits: Map<string, number>;
  /** What /jwks answers: the keys, an HTTP 500, or a body that is not JSON. */
  jwksMode: 'ok' | 'error' | 'garbage';
  sign(claims: JWTPayload, key?: SigningKey, header?: Record<string, unknown>): Promise<string>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const first = await newKey();
  const hits = new Map<string, number>();
  let issuer = '';
  const server = await listen((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (path === '/jwks' && issuerState.jwksMode === 'error') {
      res.writeHead(500).end('boom');
    } else if (path === '/jwks' && issuerState.jwksMode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
    } else if (path === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: issuerState.published.map((k) => k.publicJwk) }));
    } else {
      res.writeHead(404).end();
    }
  });
  issuer = server.url;
  const issuerState: TestIssuer = {
    ...server,
    issuer,
    published: [first],
    hits,
    jwksMode: 'ok',
    async sign(claims, key = first, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, sub: 'alice', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: key.publicJwk.alg ?? 'ES256', kid: key.kid, typ: 'at+jwt', ...header })
        .sign(key.privateKey);
    },
  };
  return issuerState;
}

export const hitsOf = (issuer: TestIssuer, path: string): number => issuer.hits.get(path) ?? 0;

/** RFC 6749 4.4 client_credentials with HTTP Basic client authentication. */
export function clientCredentials(
  tokenEndpoint: string,
  clientId: string,
  secret: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }),
  });
}
