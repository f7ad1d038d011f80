/**
 * Helpers for the hostile-input suite (hostile.test.ts): tokens and visas forged with the dev
 * provider's own keys (read from the broker's data directory, as an insider with a stolen key
 * file could not do better), the classic forgeries (`alg: none`, HS256 keyed with the public
 * key), and a loopback server that counts every connection and request made to it, so a test can
 * prove that the broker fetched nothing it should not have.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportSPKI, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The dev provider's private keys, as the broker stored them in its data directory. */
export interface ForgeKeys {
  op: { jwk: JWK; key: CryptoKey };
  visa: { jwk: JWK; key: CryptoKey };
}

export async function loadForgeKeys(dataDir: string): Promise<ForgeKeys> {
  const read = async (file: string, alg: 'RS256' | 'ES256') => {
    const jwk = (JSON.parse(readFileSync(join(dataDir, file), 'utf8')) as { keys: JWK[] }).keys[0]!;
    return { jwk, key: (await importJWK(jwk, alg)) as CryptoKey };
  };
  return { op: await read('dev-oidc-keys.json', 'RS256'), visa: await read('dev-oidc-keys-visa.json', 'ES256') };
}

/** Signs `payload` as the dev OP (RS256) or the dev visa issuer (ES256), `kid` set unless overridden. */
export function signAs(keys: ForgeKeys, kind: 'op' | 'visa', payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const { jwk, key } = keys[kind];
  const alg = kind === 'op' ? 'RS256' : 'ES256';
  return new SignJWT(payload).setProtectedHeader({ alg, kid: jwk.kid!, ...header }).sign(key);
}

/** An unsecured JWT (`alg: none`, empty signature), RFC 7519 6. */
export function unsignedJwt(payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return `${b64({ alg: 'none', ...header })}.${b64(payload)}.`;
}

/**
 * The algorithm-confusion forgery: HS256 whose HMAC secret is the issuer's *public* key in PEM
 * form. A verifier that lets the token pick the algorithm and hands it "the issuer's key" accepts it.
 */
export async function hs256WithPublicKey(keys: ForgeKeys, kind: 'op' | 'visa', payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const { jwk } = keys[kind];
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  const alg = kind === 'op' ? 'RS256' : 'ES256';
  const pem = await exportSPKI((await importJWK({ ...pub, alg }, alg, { extractable: true })) as CryptoKey);
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: jwk.kid!, ...header }).sign(new TextEncoder().encode(pem));
}

/** The same JWT with its payload replaced (signature kept): a tampered token. */
export function tamper(jwt: string, change: (payload: Record<string, unknown>) => Record<string, unknown>): string {
  const [h, p, s] = jwt.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${h}.${b64(change(payload))}.${s}`;
}

export interface CountingServer {
  url: string;
  port: number;
  /** TCP connections accepted (a TLS client that never gets a certificate still counts). */
  connections: number;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  /** What to answer; default 200 `{"keys":[]}`. */
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  reset(): void;
  close(): Promise<void>;
}

/** A loopback HTTP server that counts everything: the "attacker's key server". */
export async function startCountingServer(host = '127.0.0.1'): Promise<CountingServer> {
  const state: CountingServer = {
    url: '',
    port: 0,
    connections: 0,
    hits: new Map(),
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    },
    reset() {
      state.connections = 0;
      state.hits.clear();
    },
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => state.handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://${host.includes(':') ? `[${host}]` : host}:${state.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** The claims of a `ga4gh_visa_v1` visa JWT, valid for an hour. */
export function visaClaims(o: { iss: string; sub: string; type: string; value: string; source: string; by?: string; extra?: Record<string, unknown> }): Record<string, unknown> {
  const now = nowSec();
  return {
    iss: o.iss,
    sub: o.sub,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    ga4gh_visa_v1: { type: o.type, asserted: now - 60, value: o.value, source: o.source, by: o.by ?? 'so' },
    ...o.extra,
  };
}

export interface EsKey {
  jwk: JWK;
  key: CryptoKey;
  kid: string;
}

export async function newEsKey(): Promise<EsKey> {
  const { generateKeyPair, exportJWK, calculateJwkThumbprint } = await import('jose');
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' }, key: pair.privateKey, kid };
}

export const signEs = (k: EsKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: k.kid, ...header }).sign(k.key);

/**
 * A production-shaped Passport broker on loopback: discovery, its JWKS, a visa JWKS, and an
 * RFC 8693 token endpoint whose answer the test chooses per subject (`passports`).
 */
export interface FakePassportBroker extends CountingServer {
  issuer: string;
  op: EsKey;
  visaKey: EsKey;
  /** What the token exchange answers for a subject: a Passport JWT, or a raw [status, body]. */
  passports: Map<string, () => Promise<string | [number, string]>>;
}

export async function startFakePassportBroker(): Promise<FakePassportBroker> {
  const server = (await startCountingServer()) as FakePassportBroker;
  server.issuer = server.url;
  server.op = await newEsKey();
  server.visaKey = await newEsKey();
  server.passports = new Map();
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  server.handler = (req, res, body) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/.well-known/openid-configuration') return json(res, 200, { issuer: server.issuer, jwks_uri: `${server.issuer}/jwks` });
    if (path === '/jwks') return json(res, 200, { keys: [server.op.jwk] });
    if (path === '/visa-jwks') return json(res, 200, { keys: [server.visaKey.jwk] });
    if (path === '/token' && req.method === 'POST') {
      const subjectToken = new URLSearchParams(body).get('subject_token') ?? '';
      const sub = String((JSON.parse(Buffer.from(subjectToken.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { sub?: unknown }).sub);
      const make = server.passports.get(sub);
      if (!make) return json(res, 400, { error: 'invalid_grant' });
      void make().then((answer) => {
        if (Array.isArray(answer)) return json(res, answer[0], answer[1]);
        return json(res, 200, { access_token: answer, issued_token_type: 'urn:ga4gh:params:oauth:token-type:passport', token_type: 'N_A' });
      });
      return;
    }
    json(res, 404, { error: 'not_found' });
  };
  return server;
}
