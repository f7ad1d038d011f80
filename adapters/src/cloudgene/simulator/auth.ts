/**
 * Cloudgene 3 authentication: HS256 JWTs in `X-Auth-Token` (no `Bearer` prefix), login tokens
 * (24 h) and one API token per user whose `api_hash` must still match the user row.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { SimUser } from './types';
import { randomAlnum } from './format';

export interface UserRecord {
  id: number;
  username: string;
  password: string;
  admin: boolean;
  fullName: string;
  mail: string;
  apiHash: string | null;
  apiTokenExpiresAt: number | null;
  failedLogins: number;
  lockedUntil: number;
  lastLogin: number;
}

export interface Caller {
  user: UserRecord;
  /** True for API tokens, which are refused on login-only routes. */
  api: boolean;
}

export type AuthResult = { ok: true; caller: Caller } | { ok: false; status: 401 | 403 };

const LOGIN_LIFETIME_S = 86400;
const DEFAULT_API_LIFETIME_DAYS = 30;
const MAX_FAILED_LOGINS = 5;
const LOCK_MS = 30 * 60 * 1000;

export type LoginResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; message: string };

export class AuthService {
  private readonly users = new Map<string, UserRecord>();
  private readonly key: Uint8Array;

  constructor(
    users: SimUser[],
    secret: string,
    private readonly now: () => number,
  ) {
    this.key = new TextEncoder().encode(secret);
    users.forEach((u, i) =>
      this.users.set(u.username, {
        id: i + 1,
        username: u.username,
        password: u.password,
        admin: u.admin ?? false,
        fullName: u.fullName ?? u.username,
        mail: u.mail ?? `${u.username}@example.org`,
        apiHash: null,
        apiTokenExpiresAt: null,
        failedLogins: 0,
        lockedUntil: 0,
        lastLogin: 0,
      }),
    );
  }

  getUser(username: string): UserRecord | undefined {
    return this.users.get(username);
  }

  /** DatabaseAuthenticationProvider: wrong password counts towards a 30-minute lock after 5 failures. */
  async login(username: string, password: string): Promise<LoginResult> {
    const user = this.users.get(username);
    if (!user) return { ok: false, message: 'Login Failed! Wrong Username or Password.' };
    if (user.lockedUntil > this.now()) {
      return { ok: false, message: 'The user account is locked for 30 minutes. Too many failed logins.' };
    }
    if (user.password !== password) {
      user.failedLogins++;
      if (user.failedLogins >= MAX_FAILED_LOGINS) {
        user.lockedUntil = this.now() + LOCK_MS;
        user.failedLogins = 0;
        return { ok: false, message: 'The user account is locked for 30 minutes. Too many failed logins.' };
      }
      return { ok: false, message: 'Login Failed! Wrong Username or Password.' };
    }
    user.failedLogins = 0;
    user.lastLogin = this.now();
    const roles = user.admin ? ['admin', 'User'] : ['User'];
    const iat = Math.floor(this.now() / 1000);
    const token = await new SignJWT({ roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.username)
      .setIssuedAt(iat)
      .setExpirationTime(iat + LOGIN_LIFETIME_S)
      .sign(this.key);
    return {
      ok: true,
      body: { username: user.username, roles, access_token: token, token_type: 'Bearer', expires_in: LOGIN_LIFETIME_S },
    };
  }

  /** AuthenticationService.createApiToken: a fresh `api_hash` on the user row kills the previous token. */
  async createApiToken(username: string, expirationDays?: number): Promise<string> {
    const user = this.users.get(username);
    if (!user) throw new Error(`unknown user ${username}`);
    user.apiHash = randomAlnum(30);
    const days = expirationDays ?? DEFAULT_API_LIFETIME_DAYS;
    const iat = Math.floor(this.now() / 1000);
    const jwt = new SignJWT({
      token_type: 'API_TOKEN',
      api_hash: user.apiHash,
      username: user.username,
      name: user.fullName,
      mail: user.mail,
      api: true,
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.username)
      .setIssuedAt(iat);
    if (days === -1) {
      user.apiTokenExpiresAt = null;
    } else {
      user.apiTokenExpiresAt = (iat + days * 86400) * 1000;
      jwt.setExpirationTime(iat + days * 86400);
    }
    return jwt.sign(this.key);
  }

  revokeApiToken(username: string): void {
    const user = this.users.get(username);
    if (user) {
      user.apiHash = null;
      user.apiTokenExpiresAt = null;
    }
  }

  private async decode(token: string): Promise<Record<string, unknown> | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        currentDate: new Date(this.now()),
      });
      return payload as Record<string, unknown>;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
  }

  /** Missing/garbage/expired → 401; well-signed API token whose hash no longer matches → 403. */
  async authenticate(token: string | undefined | null): Promise<AuthResult> {
    if (!token) return { ok: false, status: 401 };
    const payload = await this.decode(token);
    if (!payload || typeof payload.sub !== 'string') return { ok: false, status: 401 };
    const user = this.users.get(payload.sub);
    if (!user) return { ok: false, status: 401 };
    const api = payload.api === true || payload.token_type === 'API_TOKEN';
    if (api && (user.apiHash === null || payload.api_hash !== user.apiHash)) return { ok: false, status: 403 };
    return { ok: true, caller: { user, api } };
  }

  /** ApiTokenController.verify: only a current API token is "valid". */
  async verifyApiToken(token: string | undefined): Promise<{ user: UserRecord; expire: number | null } | null> {
    if (!token) return null;
    const result = await this.authenticate(token);
    if (!result.ok || !result.caller.api) return null;
    const payload = await this.decode(token);
    const exp = typeof payload?.exp === 'number' ? payload.exp * 1000 : null;
    return { user: result.caller.user, expire: exp };
  }
}
