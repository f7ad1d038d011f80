/**
 * Re-encryption of sealed columns under a new key. Everything happens in the caller's
 * transaction: rows are read and rewritten in batches (memory stays flat however many there are),
 * but either every row moves to the new key or none does, so an interrupted rotation leaves the
 * database exactly as readable as before.
 */
import type { EntityManager } from 'typeorm';
import { sealedKeyId, type SecretBox } from '../crypto/box';

/** A column of sealed secrets (`v1.<keyId>...`, see crypto/box.ts) in a table with a uuid key. */
export interface SealedColumn {
  /** For reports: `credentials`, `runs.password_enc`. */
  name: string;
  table: string;
  idColumn: string;
  sealedColumn: string;
  /** A column that repeats the key id, kept in step and used to find the rows still to do. */
  keyIdColumn?: string;
}

export const CREDENTIALS_SEALED: SealedColumn = {
  name: 'credentials',
  table: 'credentials',
  idColumn: 'id',
  sealedColumn: 'sealed',
  keyIdColumn: 'key_id',
};

/** Result passwords of runs (invariant 6), sealed with the same key. */
export const RUN_PASSWORDS_SEALED: SealedColumn = {
  name: 'runs.password_enc',
  table: 'runs',
  idColumn: 'id',
  sealedColumn: 'password_enc',
};

/** Webhook signing secrets (issue 5), sealed with the same key ring. */
export const WEBHOOK_SECRETS_SEALED: SealedColumn = {
  name: 'webhooks.secret_enc',
  table: 'webhooks',
  idColumn: 'id',
  sealedColumn: 'secret_enc',
};

export const DEFAULT_BATCH_SIZE = 200;

export interface ResealOptions {
  batchSize?: number;
  /** Called after each batch is written (still inside the transaction): progress, or a test's interruption. */
  onBatch?: (progress: { column: string; done: number }) => void | Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function columns(col: SealedColumn): { table: string; id: string; sealed: string; keyId: string | undefined } {
  for (const name of [col.table, col.idColumn, col.sealedColumn, col.keyIdColumn ?? 'x']) {
    if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  }
  return { table: col.table, id: col.idColumn, sealed: col.sealedColumn, keyId: col.keyIdColumn };
}

/** The SQL condition "this row is not yet sealed under key $1". */
function notUnder(c: ReturnType<typeof columns>): string {
  return c.keyId ? `${c.keyId} <> $1` : `split_part(${c.sealed}, '.', 2) <> $1`;
}

/** How many rows of the column are not sealed under `keyId`. */
export async function countNotUnder(m: Pick<EntityManager, 'query'>, col: SealedColumn, keyId: string): Promise<number> {
  const c = columns(col);
  const rows = (await m.query(`SELECT count(*)::int AS n FROM ${c.table} WHERE ${notUnder(c)}`, [keyId])) as Array<{ n: number }>;
  return rows[0]?.n ?? 0;
}

export class ResealError extends Error {
  constructor(
    readonly column: string,
    readonly rowId: string,
    reason: string,
  ) {
    super(`${column}: row ${rowId} cannot be opened with the keys given (${reason}); nothing was re-encrypted`);
    this.name = 'ResealError';
  }
}

/**
 * Re-seals every row of `col` not already under `to.keyId`: opened with `from` (a ring holding
 * every key in use), sealed with `to`. Run it inside a transaction (`ds.transaction`); rows are
 * locked batch by batch as they are read. Returns how many rows were re-encrypted.
 */
export async function resealColumn(
  m: EntityManager,
  col: SealedColumn,
  from: SecretBox,
  to: SecretBox,
  options: ResealOptions = {},
): Promise<number> {
  if (!m.queryRunner?.isTransactionActive) throw new Error('resealColumn must run inside a transaction');
  const c = columns(col);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  let after: string | null = null;
  let done = 0;
  for (;;) {
    const rows = (await m.query(
      `SELECT ${c.id}::text AS id, ${c.sealed} AS sealed FROM ${c.table}
        WHERE ${notUnder(c)} AND ($2::uuid IS NULL OR ${c.id} > $2::uuid)
        ORDER BY ${c.id} LIMIT $3 FOR UPDATE`,
      [to.keyId, after, batchSize],
    )) as Array<{ id: string; sealed: string }>;
    if (!rows.length) return done;
    const ids: string[] = [];
    const sealed: string[] = [];
    for (const row of rows) {
      let plaintext: string;
      try {
        plaintext = from.open(row.sealed);
      } catch (err) {
        // The box's own messages name key ids only; the plaintext was never produced.
        const kid = sealedKeyId(row.sealed) ?? 'none';
        throw new ResealError(col.name, row.id, `sealed with key ${kid}: ${(err as Error).message}`);
      }
      ids.push(row.id);
      sealed.push(to.seal(plaintext));
    }
    const setKeyId = c.keyId ? `, ${c.keyId} = $3` : '';
    await m.query(
      `UPDATE ${c.table} AS t SET ${c.sealed} = v.sealed${setKeyId}
         FROM unnest($1::uuid[], $2::text[]) AS v(id, sealed) WHERE t.${c.id} = v.id`,
      c.keyId ? [ids, sealed, to.keyId] : [ids, sealed],
    );
    done += rows.length;
    after = rows[rows.length - 1]!.id;
    await options.onBatch?.({ column: col.name, done });
  }
}
