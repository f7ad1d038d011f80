/**
 * The credential vault: each user's own secret per backend (a Cloudgene API token, a DNAstack
 * OAuth client) and the broker's service accounts (owner null), sealed at rest with
 * AES-256-GCM (crypto/box.ts). Secrets go in through `put` and come out only through `resolve`,
 * wrapped so they print as `[redacted]`; every other answer is metadata. No error this module
 * raises contains a secret.
 */
import { createHash, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { DataSource } from 'typeorm';
import { createKeyRing, type KeyRing, type SecretBox } from '../crypto/box';
import { CREDENTIALS_SEALED, countNotUnder, resealColumn, type ResealOptions } from './rotate';
import { maskSecrets, Secret } from './secret';

export const CREDENTIAL_KINDS = ['api_token', 'oauth_client'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * Whose credential a backend is called with: the broker's service account, the user's own, or
 * the user's own with the service account when the user has none (or theirs expired).
 */
export const CREDENTIAL_MODES = ['service', 'user', 'user_then_service'] as const;
export type CredentialMode = (typeof CREDENTIAL_MODES)[number];

/** A user as the broker knows them (see auth/principal.ts); null stands for the broker itself. */
export interface CredentialOwner {
  issuer: string;
  subject: string;
}

export interface CredentialMetadata {
  owner: CredentialOwner | null;
  backendId: string;
  kind: CredentialKind;
  label: string | null;
  /** `sha256:` and the first 8 hex digits of the secret's SHA-256: tells two tokens apart, nothing more. */
  fingerprint: string;
  /** From the token itself (a JWT's `exp`) or the backend's token check; null when unknown. */
  expiresAt: Date | null;
  /** When the backend last said whether the token is valid. */
  verifiedAt: Date | null;
  /** What it said; null until checked. */
  valid: boolean | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface PutCredential {
  owner: CredentialOwner | null;
  backendId: string;
  kind: CredentialKind;
  secret: string;
  label?: string | null;
  /** When known from elsewhere; otherwise read from the token when it is a JWT with `exp`. */
  expiresAt?: Date | null;
}

export interface ResolvedCredential {
  backendId: string;
  kind: CredentialKind;
  /** Whose it is: the user's own or the broker's service account. */
  source: 'user' | 'service';
  secret: Secret;
  expiresAt: Date | null;
}

export type CredentialErrorCode = 'missing' | 'expired' | 'invalid' | 'unreadable' | 'bad_input';

/** What is missing or wrong, in words a user or operator can act on; never the secret. */
export class CredentialError extends Error {
  constructor(
    readonly code: CredentialErrorCode,
    readonly backendId: string,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialError';
  }
}

export interface TokenCheck {
  valid: boolean;
  expiresAt: Date | null;
}

/**
 * Asks the backend about a token (Cloudgene: `POST /api/v2/tokens/verify`). Answers null when it
 * cannot tell (a backend kind without such a check); throws when the backend cannot be reached.
 */
export type VerifyToken = (secret: string, credential: { backendId: string; owner: CredentialOwner | null }) => Promise<TokenCheck | null>;

export interface ExpiringCredential {
  owner: CredentialOwner | null;
  backendId: string;
  reason: 'invalid' | 'expired' | 'expiring';
  expiresAt: Date | null;
}

export interface FlagOptions {
  /** Only these backends (e.g. the Cloudgene ones); all by default. */
  backendIds?: readonly string[];
  /** A token that could not be checked (backend down, unreadable row): not flagged, reported here. */
  onError?: (credential: { backendId: string; owner: CredentialOwner | null }, message: string) => void;
}

export interface RotationReport {
  keyId: string;
  rotated: number;
  /** Rows written under an older key while the rotation ran (by replicas still on it); run again. */
  remaining: number;
}

export interface Vault {
  /** The key new secrets are sealed with. */
  readonly keyId: string;
  /** Every key the vault can open, the sealing one first. */
  readonly keyIds: readonly string[];
  put(input: PutCredential): Promise<{ credential: CredentialMetadata; created: boolean }>;
  get(owner: CredentialOwner | null, backendId: string): Promise<CredentialMetadata | null>;
  /** The owner's credentials (null: the service accounts), metadata only, by backend id. */
  list(owner: CredentialOwner | null): Promise<CredentialMetadata[]>;
  /** True when there was one to delete. */
  delete(owner: CredentialOwner | null, backendId: string): Promise<boolean>;
  /** The secret to call `backendId` with on the owner's behalf, or a CredentialError saying what is missing. */
  resolve(owner: CredentialOwner | null, backendId: string, mode: CredentialMode): Promise<ResolvedCredential>;
  /**
   * Re-encrypts every credential under `next`'s sealing key, in one transaction (batched), and
   * from then on seals with it while still opening what the old keys sealed.
   */
  rotate(next: SecretBox, options?: ResealOptions): Promise<RotationReport>;
  /** Checks every API token with `verify`; the invalid, expired and soon-expiring ones. */
  flagExpiring(verify: VerifyToken, withinDays?: number, options?: FlagOptions): Promise<ExpiringCredential[]>;
}

export interface VaultOptions {
  now?: () => Date;
}

const MAX_SECRET_LENGTH = 16_384;
const MAX_LABEL_LENGTH = 200;
const DAY_MS = 86_400_000;
/** Default window for `expiring_soon`: Cloudgene tokens live 30 days; a week leaves time to renew. */
export const EXPIRY_WARNING_DAYS = 7;

interface Row {
  id: string;
  owner_issuer: string | null;
  owner_subject: string | null;
  backend_id: string;
  kind: CredentialKind;
  sealed: string;
  key_id: string;
  label: string | null;
  fingerprint: string;
  expires_at: Date | null;
  verified_at: Date | null;
  valid: boolean | null;
  created_at: Date;
  updated_at: Date;
}

const METADATA_COLUMNS =
  'id, owner_issuer, owner_subject, backend_id, kind, key_id, label, fingerprint, expires_at, verified_at, valid, created_at, updated_at';

function toMetadata(row: Omit<Row, 'sealed'>): CredentialMetadata {
  return {
    owner: row.owner_issuer !== null && row.owner_subject !== null ? { issuer: row.owner_issuer, subject: row.owner_subject } : null,
    backendId: row.backend_id,
    kind: row.kind,
    label: row.label,
    fingerprint: row.fingerprint,
    expiresAt: row.expires_at,
    verifiedAt: row.verified_at,
    valid: row.valid,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function fingerprintOf(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8)}`;
}

/** A Cloudgene API token is a JWT whose `exp` says when it stops working; anything else: unknown. */
function expiryFromToken(secret: string): Date | null {
  try {
    const { exp } = decodeJwt(secret);
    return typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

/** Expired, or expiring within `withinDays` of `now`. */
export function isExpiringSoon(expiresAt: Date | null, now: Date, withinDays = EXPIRY_WARNING_DAYS): boolean {
  return expiresAt !== null && expiresAt.getTime() - now.getTime() <= withinDays * DAY_MS;
}

/** Where a user stores their own credential; error messages point there. */
export function credentialPath(backendId: string): string {
  return `PUT /api/v1/credentials/${backendId}`;
}

function ownerParams(owner: CredentialOwner | null): [string | null, string | null] {
  return owner ? [owner.issuer, owner.subject] : [null, null];
}

/** `IS NOT DISTINCT FROM` so the service account (nulls) matches like any owner. */
const OWNER_MATCH = 'owner_issuer IS NOT DISTINCT FROM $1 AND owner_subject IS NOT DISTINCT FROM $2';

function checkInput(input: PutCredential): { secret: string; label: string | null } {
  const fail = (message: string) => new CredentialError('bad_input', input.backendId, message);
  if (!input.backendId) throw fail('backend id is empty');
  if (!(CREDENTIAL_KINDS as readonly string[]).includes(input.kind)) throw fail(`kind must be one of ${CREDENTIAL_KINDS.join(', ')}`);
  if (input.owner && (!input.owner.issuer || !input.owner.subject)) throw fail('owner needs both issuer and subject');
  // A pasted token often brings a newline along; the backend would refuse it with one.
  const secret = typeof input.secret === 'string' ? input.secret.trim() : '';
  if (!secret) throw fail('secret is empty');
  if (secret.length > MAX_SECRET_LENGTH) throw fail(`secret is longer than ${MAX_SECRET_LENGTH} characters`);
  const label = input.label?.trim() || null;
  if (label && label.length > MAX_LABEL_LENGTH) throw fail(`label is longer than ${MAX_LABEL_LENGTH} characters`);
  if (label && label.includes(secret)) throw fail('label must not contain the secret');
  return { secret, label };
}

export function createVault(ds: DataSource, keys: SecretBox, options: VaultOptions = {}): Vault {
  let ring: KeyRing = createKeyRing([keys]);
  const now = options.now ?? (() => new Date());

  function open(row: Row, source: 'user' | 'service'): Secret {
    try {
      return new Secret(ring.open(row.sealed));
    } catch {
      throw new CredentialError(
        'unreadable',
        row.backend_id,
        `the ${source === 'user' ? 'stored' : "broker's service-account"} credential for backend ${row.backend_id} cannot be decrypted ` +
          `(sealed with key ${row.key_id}; this broker has ${ring.keyIds.join(', ')}); an operator must restore that key` +
          (source === 'user' ? `, or store it again with ${credentialPath(row.backend_id)}` : ''),
      );
    }
  }

  /** Why a stored credential cannot be used now, or null when it can. */
  function unusable(row: Row): 'expired' | 'invalid' | null {
    if (row.valid === false) return 'invalid';
    if (row.expires_at && row.expires_at.getTime() <= now().getTime()) return 'expired';
    return null;
  }

  function unusableMessage(row: Row, why: 'expired' | 'invalid', source: 'user' | 'service'): string {
    const whose = source === 'user' ? 'your' : "the broker's service-account";
    const what = row.kind === 'api_token' ? 'API token' : 'client credentials';
    const state =
      why === 'expired'
        ? `expired on ${row.expires_at!.toISOString()}`
        : `was refused by the backend when last checked${row.verified_at ? ` (${row.verified_at.toISOString()})` : ''}`;
    const fix = source === 'user' ? `store a new one with ${credentialPath(row.backend_id)}` : 'an operator must replace it';
    return `${whose} ${what} for backend ${row.backend_id} ${state}; ${fix}`;
  }

  return {
    get keyId() {
      return ring.keyId;
    },
    get keyIds() {
      return ring.keyIds;
    },

    async put(input) {
      const { secret, label } = checkInput(input);
      const sealed = ring.seal(secret);
      const expiresAt = input.expiresAt !== undefined ? input.expiresAt : input.kind === 'api_token' ? expiryFromToken(secret) : null;
      const target = input.owner
        ? '(owner_issuer, owner_subject, backend_id) WHERE owner_issuer IS NOT NULL'
        : '(backend_id) WHERE owner_issuer IS NULL';
      // A new secret has not been checked yet: verified_at and valid start over.
      const rows = (await ds.query(
        `INSERT INTO credentials (id, owner_issuer, owner_subject, backend_id, kind, sealed, key_id, label, fingerprint, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
         ON CONFLICT ${target} DO UPDATE SET
           kind = EXCLUDED.kind, sealed = EXCLUDED.sealed, key_id = EXCLUDED.key_id, label = EXCLUDED.label,
           fingerprint = EXCLUDED.fingerprint, expires_at = EXCLUDED.expires_at, verified_at = NULL, valid = NULL,
           updated_at = EXCLUDED.updated_at
         RETURNING ${METADATA_COLUMNS}, (xmax = 0) AS created`,
        [randomUUID(), ...ownerParams(input.owner), input.backendId, input.kind, sealed, ring.keyId, label, fingerprintOf(secret), expiresAt, now()],
      )) as Array<Omit<Row, 'sealed'> & { created: boolean }>;
      const row = rows[0]!;
      return { credential: toMetadata(row), created: row.created };
    },

    async get(owner, backendId) {
      const rows = (await ds.query(`SELECT ${METADATA_COLUMNS} FROM credentials WHERE ${OWNER_MATCH} AND backend_id = $3`, [
        ...ownerParams(owner),
        backendId,
      ])) as Array<Omit<Row, 'sealed'>>;
      return rows[0] ? toMetadata(rows[0]) : null;
    },

    async list(owner) {
      const rows = (await ds.query(`SELECT ${METADATA_COLUMNS} FROM credentials WHERE ${OWNER_MATCH} ORDER BY backend_id`, ownerParams(owner))) as Array<
        Omit<Row, 'sealed'>
      >;
      return rows.map(toMetadata);
    },

    async delete(owner, backendId) {
      const [, affected] = (await ds.query(`DELETE FROM credentials WHERE ${OWNER_MATCH} AND backend_id = $3`, [...ownerParams(owner), backendId])) as [
        unknown,
        number,
      ];
      return affected > 0;
    },

    async resolve(owner, backendId, mode) {
      if (!(CREDENTIAL_MODES as readonly string[]).includes(mode)) {
        throw new CredentialError('bad_input', backendId, `credential mode must be one of ${CREDENTIAL_MODES.join(', ')}`);
      }
      const wantUser = mode !== 'service' && owner !== null;
      const wantService = mode !== 'user';
      const rows = (await ds.query(
        `SELECT * FROM credentials WHERE backend_id = $1
           AND ((owner_issuer = $2 AND owner_subject = $3) OR ($4 AND owner_issuer IS NULL))`,
        [backendId, owner?.issuer ?? null, owner?.subject ?? null, wantService],
      )) as Row[];
      const userRow = wantUser ? rows.find((r) => r.owner_issuer !== null) : undefined;
      const serviceRow = wantService ? rows.find((r) => r.owner_issuer === null) : undefined;
      const use = (row: Row, source: 'user' | 'service'): ResolvedCredential => ({
        backendId,
        kind: row.kind,
        source,
        secret: open(row, source),
        expiresAt: row.expires_at,
      });

      const userProblem = userRow ? unusable(userRow) : null;
      if (userRow && !userProblem) return use(userRow, 'user');
      if (mode === 'user') {
        if (userRow && userProblem) throw new CredentialError(userProblem, backendId, unusableMessage(userRow, userProblem, 'user'));
        const who = owner ? '' : ' (and there is no user to take it from)';
        throw new CredentialError(
          'missing',
          backendId,
          `backend ${backendId} is used with each user's own credential, and none is stored for you${who}; store yours with ${credentialPath(backendId)}`,
        );
      }

      const serviceProblem = serviceRow ? unusable(serviceRow) : null;
      if (serviceRow && !serviceProblem) return use(serviceRow, 'service');
      if (mode === 'service') {
        if (serviceRow && serviceProblem) throw new CredentialError(serviceProblem, backendId, unusableMessage(serviceRow, serviceProblem, 'service'));
        throw new CredentialError(
          'missing',
          backendId,
          `backend ${backendId} is used with the broker's service account, and none is stored; an operator must add one`,
        );
      }
      // user_then_service, neither usable: the user's own is what they can fix.
      if (userRow && userProblem) {
        throw new CredentialError(userProblem, backendId, `${unusableMessage(userRow, userProblem, 'user')} (the broker has no usable service account for it)`);
      }
      throw new CredentialError(
        'missing',
        backendId,
        `no credential for backend ${backendId}: store your own with ${credentialPath(backendId)} (the broker has no usable service account for it)`,
      );
    },

    async rotate(next, rotateOptions = {}) {
      const target = createKeyRing([next]);
      // Opens what the old keys sealed as well as anything already under the new one.
      const opener = createKeyRing([next, ring]);
      const rotated = await ds.transaction((m) => resealColumn(m, CREDENTIALS_SEALED, opener, target, rotateOptions));
      ring = opener;
      const remaining = await countNotUnder(ds, CREDENTIALS_SEALED, target.keyId);
      return { keyId: target.keyId, rotated, remaining };
    },

    async flagExpiring(verify, withinDays = EXPIRY_WARNING_DAYS, flagOptions = {}) {
      const rows = (await ds.query(
        `SELECT * FROM credentials WHERE kind = 'api_token' AND ($1::text[] IS NULL OR backend_id = ANY($1::text[])) ORDER BY backend_id, id`,
        [flagOptions.backendIds ? [...flagOptions.backendIds] : null],
      )) as Row[];
      const flagged: ExpiringCredential[] = [];
      for (const row of rows) {
        const ref = { backendId: row.backend_id, owner: toMetadata(row).owner };
        let secret: Secret;
        try {
          secret = open(row, ref.owner ? 'user' : 'service');
        } catch (err) {
          flagOptions.onError?.(ref, (err as Error).message);
          continue;
        }
        let check: TokenCheck | null;
        try {
          check = await verify(secret.reveal(), ref);
        } catch (err) {
          // Unreachable is not invalid (invariant 3): try again next time, flag nothing now.
          const message = err instanceof Error ? err.message : String(err);
          flagOptions.onError?.(ref, `could not check the token for backend ${row.backend_id}: ${maskSecrets(message, [secret])}`);
          continue;
        }
        if (!check) continue;
        const checkedAt = now();
        const expiresAt = check.expiresAt ?? row.expires_at;
        await ds.query(`UPDATE credentials SET valid = $2, expires_at = $3, verified_at = $4 WHERE id = $1`, [row.id, check.valid, expiresAt, checkedAt]);
        const reason = !check.valid
          ? 'invalid'
          : expiresAt && expiresAt.getTime() <= checkedAt.getTime()
            ? 'expired'
            : isExpiringSoon(expiresAt, checkedAt, withinDays)
              ? 'expiring'
              : null;
        if (reason) flagged.push({ ...ref, reason, expiresAt });
      }
      return flagged;
    },
  };
}
