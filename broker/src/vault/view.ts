/** What the credential routes show of a stored credential: metadata, never the secret. */
import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../http/context';
import { ApiError } from '../http/errors';
import type { Principal } from '../auth/principal';
import { CREDENTIAL_KINDS, isExpiringSoon, type CredentialMetadata, type CredentialOwner, type Vault } from './vault';

export const CredentialSchema = z
  .object({
    backend_id: z.string().openapi({ example: 'mis2' }),
    kind: z.enum(CREDENTIAL_KINDS),
    label: z.string().nullable(),
    fingerprint: z.string().openapi({
      example: 'sha256:9f86d081',
      description: 'The first 8 hex digits of the SHA-256 of the secret, to tell which one is stored.',
    }),
    expires_at: z.string().nullable().openapi({ description: 'When the token stops working, if known.' }),
    expiring_soon: z.boolean().openapi({ description: 'Expired, or expiring within 7 days: store a new one.' }),
    valid: z.boolean().nullable().openapi({ description: "The backend's answer when the token was last checked; null until then." }),
    verified_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Credential');

export type CredentialView = z.infer<typeof CredentialSchema>;

export function credentialView(m: CredentialMetadata, now: Date): CredentialView {
  return {
    backend_id: m.backendId,
    kind: m.kind,
    label: m.label,
    fingerprint: m.fingerprint,
    expires_at: m.expiresAt?.toISOString() ?? null,
    expiring_soon: isExpiringSoon(m.expiresAt, now),
    valid: m.valid,
    verified_at: m.verifiedAt?.toISOString() ?? null,
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
  };
}

export const BackendIdParam = z.object({
  backend_id: z.string().max(64).openapi({ param: { name: 'backend_id', in: 'path' }, example: 'mis2' }),
});

/** What the credential routes need of the app's dependencies (AppDeps satisfies it). */
export type CredentialRouteDeps = Pick<AppDeps, 'authenticate' | 'vault' | 'audit'> & Partial<Pick<AppDeps, 'access'>> & {
  registry: Pick<AppDeps['registry'], 'ids' | 'get'>;
};

export function vaultOf(deps: Pick<AppDeps, 'vault'>): Vault {
  if (!deps.vault) throw new ApiError(503, 'The credential vault is not enabled on this broker.');
  return deps.vault;
}

export function ownerOf(principal: Principal): CredentialOwner {
  return { issuer: principal.issuer, subject: principal.subject };
}

/** Credentials hold secrets: no cache anywhere keeps a copy of any answer about them. */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;
