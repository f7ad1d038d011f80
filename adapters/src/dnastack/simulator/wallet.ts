/**
 * The DNAstack wallet's token endpoint for service accounts: OAuth 2 client credentials
 * (client_secret_post or HTTP Basic), `resource` checked against the services it may be used
 * for, expiring HS256 JWTs whose `sub` is the account's namespace and whose `aud` is the resource.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { SimClient } from './types';

export type TokenResult =
  | { ok: true; body: { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string } }
  | { ok: false; status: 400 | 401; body: { error: string; error_description: string } };

export interface Caller {
  client: SimClient;
  audience: string[];
}

export class Wallet {
  readonly #key: Uint8Array;
  /** `jti` of every token issued and not revoked. */
  readonly #live = new Set<string>();
  issued = 0;

  constructor(
    private readonly clients: SimClient[],
    private readonly lifetimeSeconds: number,
    private readonly now: () => number,
    secret?: string,
  ) {
    this.#key = secret ? new TextEncoder().encode(secret) : new Uint8Array(randomBytes(32));
  }

  /** `POST /oauth/token`; `resources` are the service URLs a token may be asked for. */
  async token(form: URLSearchParams, basic: string | null, issuer: string, resources: string[]): Promise<TokenResult> {
    let clientId = form.get('client_id') ?? '';
    let clientSecret = form.get('client_secret') ?? '';
    if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const at = decoded.indexOf(':');
      if (at > 0) {
        clientId = decodeURIComponent(decoded.slice(0, at));
        clientSecret = decodeURIComponent(decoded.slice(at + 1));
      }
    }
    const client = this.clients.find((c) => c.clientId === clientId);
    if (!client || client.clientSecret !== clientSecret) {
      return { ok: false, status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    }
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') {
      return { ok: false, status: 400, body: { error: 'unsupported_grant_type', error_description: `Grant type '${grant ?? ''}' is not supported for this client` } };
    }
    const resource = form.get('resource');
    if (!resource) return { ok: false, status: 400, body: { error: 'invalid_request', error_description: 'The resource parameter is required' } };
    const asked = resource.split(',').map((r) => r.trim()).filter((r) => r !== '');
    const norm = (u: string): string => u.replace(/\/+$/, '');
    if (asked.length === 0 || asked.some((r) => !resources.map(norm).includes(norm(r)))) {
      return { ok: false, status: 400, body: { error: 'invalid_target', error_description: 'The requested resource is invalid, unknown, or malformed' } };
    }
    const scope = form.get('scope') ?? 'openid';
    const iat = Math.floor(this.now() / 1000);
    const jti = randomUUID();
    this.#live.add(jti);
    const jwt = await new SignJWT({ scope, azp: client.clientId, email: client.email ?? `${client.clientId}@service-accounts.local` })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(client.namespace)
      .setAudience(asked)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.lifetimeSeconds)
      .setJti(jti)
      .sign(this.#key);
    this.issued++;
    return { ok: true, body: { access_token: jwt, token_type: 'Bearer', expires_in: this.lifetimeSeconds, scope } };
  }

  /**
   * Checks a bearer token for a service: signature, expiry (on the simulator's clock), audience.
   * Returns why it is refused, for the `WWW-Authenticate` header.
   */
  async verify(header: string | undefined, serviceUrl: string): Promise<Caller | { refused: string }> {
    const token = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (!token) return { refused: 'Bearer token is missing' };
    try {
      const { payload } = await jwtVerify(token, this.#key, { currentDate: new Date(this.now()), algorithms: ['HS256'] });
      if (!this.#live.has(payload.jti ?? '')) return { refused: 'Token has been revoked' };
      const audience = Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [];
      const norm = (u: string): string => u.replace(/\/+$/, '');
      if (!audience.map(norm).includes(norm(serviceUrl))) return { refused: `Token audience does not include ${serviceUrl}` };
      const client = this.clients.find((c) => c.clientId === payload.azp);
      if (!client) return { refused: 'Unknown client' };
      return { client, audience };
    } catch (error) {
      const code = (error as { code?: string }).code;
      return { refused: code === 'ERR_JWT_EXPIRED' ? 'Jwt expired' : 'Invalid token' };
    }
  }

  /** Every token issued so far stops working (key rotation, an operator's revocation). */
  revokeAll(): void {
    this.#live.clear();
  }
}
