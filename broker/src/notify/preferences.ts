/**
 * A user's e-mail preferences: where to write and on which ends of a run. Opt-in: nothing is
 * mailed until the user says so (PUT /api/v1/me/notifications), because the delivery worker has
 * no token to read an address from; the address then defaults to the token's `email` claim.
 */
import type { DataSource } from 'typeorm';
import { returned } from '../db/returning';
import type { Owner } from './webhooks';

export interface Preferences {
  email: string | null;
  onComplete: boolean;
  onFailure: boolean;
  updatedAt: Date | null;
}

interface Row {
  email: string | null;
  on_complete: boolean;
  on_failure: boolean;
  updated_at: Date;
}

export class PreferenceService {
  constructor(private readonly ds: Pick<DataSource, 'query'>) {}

  /** The stored preferences, or null when the user never set any. */
  async get(owner: Owner): Promise<Preferences | null> {
    const rows = returned<Row>(
      await this.ds.query(`SELECT email, on_complete, on_failure, updated_at FROM notification_preferences WHERE owner_subject = $1 AND owner_issuer = $2`, [
        owner.subject,
        owner.issuer,
      ]),
    );
    const r = rows[0];
    return r ? { email: r.email, onComplete: r.on_complete, onFailure: r.on_failure, updatedAt: r.updated_at } : null;
  }

  async put(owner: Owner, p: { email: string | null; onComplete: boolean; onFailure: boolean }): Promise<Preferences> {
    const rows = returned<Row>(
      await this.ds.query(
        `INSERT INTO notification_preferences (owner_issuer, owner_subject, email, on_complete, on_failure, updated_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (owner_subject, owner_issuer) DO UPDATE
           SET email = EXCLUDED.email, on_complete = EXCLUDED.on_complete, on_failure = EXCLUDED.on_failure, updated_at = now()
         RETURNING email, on_complete, on_failure, updated_at`,
        [owner.issuer, owner.subject, p.email, p.onComplete, p.onFailure],
      ),
    );
    const r = rows[0]!;
    return { email: r.email, onComplete: r.on_complete, onFailure: r.on_failure, updatedAt: r.updated_at };
  }
}
