/** The e-mail preferences as the API shows them, with the address the token offers as default. */
import { z } from '@hono/zod-openapi';
import type { Principal } from '../auth/principal';
import type { Preferences } from './preferences';

export const PreferencesSchema = z
  .object({
    email: z.string().nullable().openapi({ description: 'Where e-mails go; by default the e-mail address your token carries' }),
    email_source: z.enum(['stored', 'token', 'none']).openapi({ description: 'stored: you set it; token: from your token, not yet stored' }),
    on_complete: z.boolean(),
    on_failure: z.boolean().openapi({ description: 'EXECUTOR_ERROR, SYSTEM_ERROR or PREEMPTED' }),
    mail_enabled: z.boolean().openapi({ description: 'false: this broker has no SMTP server configured, so nothing is mailed' }),
    updated_at: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('NotificationPreferences');

const EMAIL = z.email();

/** The `email` claim of the caller's token, when it is an address. */
export function tokenEmail(principal: Principal): string | null {
  const claim = principal.claims.email;
  return typeof claim === 'string' && claim.length <= 254 && EMAIL.safeParse(claim).success ? claim : null;
}

export function preferencesView(stored: Preferences | null, principal: Principal, mailEnabled: boolean): z.infer<typeof PreferencesSchema> {
  const fromToken = tokenEmail(principal);
  return {
    email: stored ? stored.email : fromToken,
    email_source: stored?.email ? 'stored' : !stored && fromToken ? 'token' : 'none',
    on_complete: stored?.onComplete ?? false,
    on_failure: stored?.onFailure ?? false,
    mail_enabled: mailEnabled,
    updated_at: stored?.updatedAt?.toISOString() ?? null,
  };
}
